//! The validation handshake and per-notification authentication.

use super::{Outcome, Rejection};
use crate::token::{TokenMatch, TokenSet};
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

/// The headers that may carry the verification token.
const TOKEN_HEADERS: [&str; 2] = [VERIFICATION_TOKEN, VALIDATION_TOKEN];

/// `Verification-Token` is the documented header; one version of
/// RingCentral's guide sends the token as `Validation-Token` instead, so a
/// request with a body may carry it there. Every candidate is compared, so
/// the time taken does not depend on which header matched, and each is
/// compared with every token of the set (current and, during a rotation,
/// previous); the best match counts.
pub fn authenticated(tokens: &TokenSet, headers: &HeaderMap) -> TokenMatch {
    let mut best = TokenMatch::None;
    for name in TOKEN_HEADERS {
        for value in headers.get_all(name) {
            best = best.max(tokens.match_of(value.as_bytes()));
        }
    }
    best
}

/// Whether the request carries any token at all.
pub fn carries_token(headers: &HeaderMap) -> bool {
    TOKEN_HEADERS.iter().any(|name| headers.contains_key(*name))
}
