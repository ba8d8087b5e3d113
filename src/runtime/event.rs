//! Turning the raw Lambda event into a request without ever failing on
//! what a client sent. lambda_http refuses a whole event whose header value
//! `http` cannot hold, and panics on a body flagged base64 that does not
//! decode; either would answer RingCentral with a 5xx. So header values are
//! made representable, and a bad base64 body is passed on as the text
//! received, marked for the handler to park.

use crate::http::INVALID_BASE64_MARKER;
use lambda_http::http::HeaderValue;
use lambda_http::request::LambdaRequest;
use serde_json::Value;

/// Stands in for a header value `http` cannot represent: still refused as a
/// token, but the request itself survives.
const UNREPRESENTABLE: &str = "\u{fffd}";

/// The answer for an event that is no HTTP event at all (not something API
/// Gateway sends); every API Gateway and function URL format accepts it.
pub fn unreadable_event_answer() -> Value {
    serde_json::json!({
        "statusCode": 400,
        "headers": {"content-type": "application/json"},
        "body": "{\"error\":\"unreadable request event\"}",
        "isBase64Encoded": false
    })
}

pub fn parse_event(raw: &str) -> Result<LambdaRequest, serde_json::Error> {
    let mut request = match serde_json::from_str(raw) {
        Ok(request) => request,
        Err(_) => {
            let mut value: Value = serde_json::from_str(raw)?;
            make_headers_representable(&mut value);
            serde_json::from_value(value)?
        }
    };
    guard_base64(&mut request);
    Ok(request)
}

fn make_headers_representable(event: &mut Value) {
    for key in ["headers", "multiValueHeaders"] {
        if let Some(headers) = event.get_mut(key).and_then(Value::as_object_mut) {
            for value in headers.values_mut() {
                match value {
                    Value::String(s) => replace_unrepresentable(s),
                    Value::Array(items) => items
                        .iter_mut()
                        .filter_map(|v| match v {
                            Value::String(s) => Some(s),
                            _ => None,
                        })
                        .for_each(replace_unrepresentable),
                    _ => {}
                }
            }
        }
    }
}

fn replace_unrepresentable(value: &mut String) {
    if HeaderValue::from_str(value).is_err() {
        *value = UNREPRESENTABLE.to_owned();
    }
}

fn guard_base64(request: &mut LambdaRequest) {
    let (flag, body, headers) = match request {
        LambdaRequest::ApiGatewayV2(r) => (&mut r.is_base64_encoded, &r.body, &mut r.headers),
        LambdaRequest::ApiGatewayV1(r) => (&mut r.is_base64_encoded, &r.body, &mut r.headers),
        _ => return,
    };
    headers.remove(INVALID_BASE64_MARKER);
    if *flag && !decodes(body.as_deref().unwrap_or_default()) {
        *flag = false;
        headers.insert(INVALID_BASE64_MARKER, HeaderValue::from_static("1"));
    }
}

fn decodes(text: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).is_ok()
}
