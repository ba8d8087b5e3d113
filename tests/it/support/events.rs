//! API Gateway events, built from the files in `events/` so tests exercise
//! what `cargo lambda invoke --data-file` sends.

use lambda_http::request::LambdaRequest;
use lambda_http::Request;
use serde_json::{json, Value};

pub fn event_file(name: &str) -> Value {
    let path = format!("{}/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn body_file(name: &str) -> Value {
    let path = format!("{}/events/bodies/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// Goes through the same base64 guard as the binary, then lambda_http's conversion.
pub fn guarded_request(event: &Value) -> Request {
    let raw: LambdaRequest =
        cc_number_relay::runtime::parse_event(&event.to_string()).unwrap_or_else(|e| panic!("{e}: {event}"));
    raw.into()
}

/// An HTTP API (payload 2.0) event from `events/created.json` with the given parts.
pub fn http_api(method: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    let mut event = event_file("created");
    event["requestContext"]["http"]["method"] = json!(method);
    event["headers"] = Value::Object(headers.iter().map(|(k, v)| (k.to_string(), json!(v))).collect());
    event["body"] = body.map_or(Value::Null, |b| json!(b));
    event["isBase64Encoded"] = json!(false);
    event
}

/// The same request as a REST API (payload 1.0) event, header case kept.
pub fn rest_api(method: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    let headers: serde_json::Map<String, Value> = headers.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({
        "resource": "/ringcentral/contact-center-numbers",
        "path": "/ringcentral/contact-center-numbers",
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": headers.iter().map(|(k, v)| (k.clone(), json!([v]))).collect::<serde_json::Map<_, _>>(),
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012", "resourceId": "abc", "stage": "prod",
            "requestId": "rest-0001", "identity": {"sourceIp": "199.255.120.1"},
            "resourcePath": "/ringcentral/contact-center-numbers", "httpMethod": method,
            "apiId": "abc123", "path": "/prod/ringcentral/contact-center-numbers"
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// A Lambda function URL event: payload 2.0 with a lambda-url domain.
pub fn function_url(method: &str, headers: &[(&str, &str)], body: Option<&str>) -> Value {
    let mut event = http_api(method, headers, body);
    event["routeKey"] = json!("$default");
    event["rawPath"] = json!("/");
    event["requestContext"]["domainName"] = json!("abcdefgh.lambda-url.us-east-1.on.aws");
    event["requestContext"]["routeKey"] = json!("$default");
    event
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn with_base64_body(mut event: Value, bytes: &[u8]) -> Value {
    event["body"] = json!(base64(bytes));
    event["isBase64Encoded"] = json!(true);
    event
}

pub fn notification_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("content-type", "application/json; charset=UTF-8"),
        ("verification-token", super::TOKEN),
    ]
}
