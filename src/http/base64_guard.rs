//! lambda_http panics on a body flagged base64 that does not decode. A
//! panic would abort the process and answer RingCentral with a 5xx, so the
//! event is checked first and such a body is passed on as the text received,
//! marked for the handler to park.

use lambda_http::http::HeaderValue;
use lambda_http::request::LambdaRequest;

/// Internal header; any copy sent by a client is removed first.
pub const INVALID_BASE64_MARKER: &str = "x-cc-number-relay-invalid-base64";

pub fn guard_base64(request: &mut LambdaRequest) {
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
