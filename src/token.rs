//! The verification token: the shared secret RingCentral sends with every
//! notification, and the only thing that tells a real one from a forgery.

use std::fmt;

/// 1 to 256 visible ASCII characters. Debug and Display never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationToken(String);

impl VerificationToken {
    pub const RULE: &'static str = "must be 1 to 256 visible ASCII characters";

    pub fn parse(value: String) -> Result<Self, &'static str> {
        let ok = (1..=256).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
        ok.then_some(Self(value)).ok_or(Self::RULE)
    }

    /// Constant time in the content; only the length can leak.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(candidate).into()
    }

    /// Only for the one place that must send it (creating a subscription).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_exactly() {
        let token = VerificationToken::parse("abc123".into()).unwrap();
        assert!(token.matches(b"abc123"));
        assert!(!token.matches(b"abc124"));
        assert!(!token.matches(b"abc12"));
        assert!(!token.matches(b""));
    }

    #[test]
    fn refuses_invisible_and_overlong_values() {
        for bad in ["", "has space", "tab\t", &"x".repeat(257)] {
            assert_eq!(VerificationToken::parse(bad.to_owned()), Err(VerificationToken::RULE));
        }
        assert!(!format!("{:?}", VerificationToken::parse("s3cret".into()).unwrap()).contains("s3cret"));
    }
}
