//! The validation handshake and per-notification authentication.

use super::{Outcome, Rejection};
use crate::token::TokenSet;
use lambda_http::http::HeaderMap;

pub const VALIDATION_TOKEN: &str = "validation-token";
pub const VERIFICATION_TOKEN: &str = "verification-token";

/// RingCentral documents no format; these bounds keep the echo far under
/// its 1,024-byte answer limit and refuse header-smuggling characters.
const MAX_HANDSHAKE_TOKEN_BYTES: usize = 256;

pub fn handshake(headers: &HeaderMap) -> Outcome {
    let Some(token) = headers.get(VALIDATION_TOKEN) else {
        return Outcome::Rejected(Rejection::EmptyBody);
    };
    let bytes = token.as_bytes();
    let valid = !bytes.is_empty() && bytes.len() <= MAX_HANDSHAKE_TOKEN_BYTES && bytes.iter().all(u8::is_ascii_graphic);
    if valid {
        Outcome::Handshake { echo: token.clone() }
    } else {
        Outcome::Rejected(Rejection::InvalidHandshakeToken)
    }
}

/// `Verification-Token` is the documented header; one version of
/// RingCentral's guide sends the token as `Validation-Token` instead, so a
/// request with a body may carry it there. Every candidate is compared, so
/// the time taken does not depend on which header matched, and each is
/// compared with every token of the set (current and, during a rotation,
/// previous).
pub fn authenticated(tokens: &TokenSet, headers: &HeaderMap) -> bool {
    let mut matched = false;
    for name in [VERIFICATION_TOKEN, VALIDATION_TOKEN] {
        for value in headers.get_all(name) {
            matched |= tokens.matches(value.as_bytes());
        }
    }
    matched
}
