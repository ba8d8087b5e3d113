//! The verification token: the shared secret RingCentral sends with every
//! notification, and the only thing that tells a real one from a forgery.
//! During a rotation two are valid at once ([`TokenSet`]).

use serde::{Deserialize, Serialize};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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

    /// Only for the places that must send or store it (creating a
    /// subscription, writing the secret).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationToken(<redacted>)")
    }
}

/// The tokens that authenticate a notification: the current one, and during
/// a rotation the previous one too, with the subscriptions still delivering
/// with it (`retiring`) and the one created with `current` (`successor`), so
/// an interrupted rotation can be finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub current: VerificationToken,
    pub previous: Option<VerificationToken>,
    /// The subscriptions created with `previous`, deleted at the rotation's end.
    pub retiring: Vec<String>,
    /// The subscription the rotation created with `current`: the one it keeps.
    pub successor: Option<String>,
    /// When `current` became current (`currentSince`, written by the
    /// rotation step that made it so): a rerun of an interrupted rotation
    /// waits out what is left of its pause from this instant. Absent in
    /// older secrets and in one put by hand; unreadable counts as absent.
    pub current_since: Option<OffsetDateTime>,
}

/// Which token of a [`TokenSet`] a candidate is; ordered, so the best of
/// several candidates is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TokenMatch {
    None,
    Previous,
    Current,
}

/// Why a secret's text is no token set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenSetError {
    #[error("it holds no current token (expected {{\"current\":\"…\",\"previous\":\"…\"}})")]
    NoCurrent,
    #[error("its {field} token {}", VerificationToken::RULE)]
    Malformed { field: &'static str },
}

/// The secret's JSON document. `VERIFICATION_TOKEN` is the older CLI form.
#[derive(Serialize, Deserialize)]
struct Document {
    #[serde(default, alias = "VERIFICATION_TOKEN", skip_serializing_if = "Option::is_none")]
    current: Option<String>,
    #[serde(default)]
    previous: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retiring: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    successor: Option<String>,
    /// RFC 3339.
    #[serde(default, rename = "currentSince", skip_serializing_if = "Option::is_none")]
    current_since: Option<String>,
}

impl TokenSet {
    pub fn single(current: VerificationToken) -> Self {
        Self {
            current,
            previous: None,
            retiring: Vec::new(),
            successor: None,
            current_since: None,
        }
    }

    /// A secret's text: `{"current":"…","previous":"…"}` (an empty or absent
    /// `previous` is none), `{"VERIFICATION_TOKEN":"…"}`, or the token itself.
    pub fn parse(text: &str) -> Result<Self, TokenSetError> {
        let document = match serde_json::from_str::<Document>(text) {
            Ok(document) => document,
            Err(_) if !text.trim_start().starts_with('{') => Document {
                current: Some(text.trim().to_owned()),
                previous: None,
                retiring: Vec::new(),
                successor: None,
                current_since: None,
            },
            Err(_) => return Err(TokenSetError::NoCurrent),
        };
        let token =
            |value: String, field| VerificationToken::parse(value).map_err(|_| TokenSetError::Malformed { field });
        let current = document
            .current
            .filter(|v| !v.is_empty())
            .ok_or(TokenSetError::NoCurrent)?;
        Ok(Self {
            current: token(current, "current")?,
            previous: document
                .previous
                .filter(|v| !v.is_empty())
                .map(|v| token(v, "previous"))
                .transpose()?,
            retiring: document.retiring,
            successor: document.successor.filter(|id| !id.is_empty()),
            // Only the rotation needs it, and without it a rerun waits the
            // whole pause: a bad value never costs the relay its tokens.
            current_since: document
                .current_since
                .and_then(|at| OffsetDateTime::parse(&at, &Rfc3339).ok()),
        })
    }

    /// The secret's text for this set (it holds the tokens: write it only to the secret).
    pub fn to_secret_text(&self) -> String {
        let document = Document {
            current: Some(self.current.0.clone()),
            previous: Some(self.previous.as_ref().map(|t| t.0.clone()).unwrap_or_default()),
            retiring: self.retiring.clone(),
            successor: self.successor.clone(),
            current_since: self
                .current_since
                .and_then(|at| at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok()),
        };
        serde_json::to_string(&document).unwrap_or_default()
    }

    /// Which of the tokens `candidate` is. Both are always compared, in
    /// constant time, so the time taken does not tell which one matched.
    pub fn match_of(&self, candidate: &[u8]) -> TokenMatch {
        let previous = self.previous.as_ref().is_some_and(|p| p.matches(candidate));
        let current = self.current.matches(candidate);
        match (current, previous) {
            (true, _) => TokenMatch::Current,
            (false, true) => TokenMatch::Previous,
            (false, false) => TokenMatch::None,
        }
    }

    /// Whether `candidate` is one of the tokens.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        self.match_of(candidate) != TokenMatch::None
    }

    pub fn rotating(&self) -> bool {
        self.previous.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> VerificationToken {
        VerificationToken::parse(value.into()).unwrap()
    }

    #[test]
    fn matches_only_exactly() {
        let token = token("abc123");
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
        assert!(!format!("{:?}", token("s3cret")).contains("s3cret"));
    }

    #[test]
    fn a_set_matches_its_current_and_previous_tokens_only() {
        let set = TokenSet::parse(r#"{"current":"newToken1","previous":"oldToken1"}"#).unwrap();
        assert!(set.matches(b"newToken1"));
        assert!(set.matches(b"oldToken1"));
        assert_eq!(set.match_of(b"newToken1"), TokenMatch::Current);
        assert_eq!(set.match_of(b"oldToken1"), TokenMatch::Previous);
        assert_eq!(set.match_of(b"newToken2"), TokenMatch::None);
        assert!(!set.matches(b"newToken2"));
        assert!(!set.matches(b""));
        assert!(set.rotating());
        assert!(!format!("{set:?}").contains("Token1"));
    }

    #[test]
    fn reads_every_form_of_the_secret() {
        let stack_created = TokenSet::parse(r#"{"previous":"","current":"abc"}"#).unwrap();
        assert_eq!(stack_created, TokenSet::single(token("abc")));
        assert_eq!(TokenSet::parse("abc\n").unwrap(), TokenSet::single(token("abc")));
        assert_eq!(
            TokenSet::parse(r#"{"VERIFICATION_TOKEN":"abc"}"#).unwrap(),
            TokenSet::single(token("abc"))
        );
        let rotating = TokenSet::parse(r#"{"current":"b","previous":"a","retiring":["s1"]}"#).unwrap();
        assert_eq!(rotating.retiring, ["s1"]);
        assert_eq!(rotating.successor, None);
        let created = TokenSet::parse(r#"{"current":"b","previous":"a","retiring":["s1"],"successor":"s2"}"#).unwrap();
        assert_eq!(created.successor.as_deref(), Some("s2"));
        assert_eq!(TokenSet::parse(&created.to_secret_text()).unwrap(), created);
        assert_eq!(TokenSet::parse(&rotating.to_secret_text()).unwrap(), rotating);
        assert_eq!(
            TokenSet::single(token("abc")).to_secret_text(),
            r#"{"current":"abc","previous":""}"#
        );
    }

    #[test]
    fn when_the_current_token_became_current_is_kept_and_older_secrets_lack_it() {
        let text = r#"{"current":"b","previous":"a","retiring":["s1"],"currentSince":"2026-11-28T10:00:00.250+01:00"}"#;
        let rotating = TokenSet::parse(text).unwrap();
        let at = OffsetDateTime::parse("2026-11-28T09:00:00.25Z", &Rfc3339).unwrap();
        assert_eq!(rotating.current_since, Some(at));
        let written = rotating.to_secret_text();
        assert!(
            written.contains(r#""currentSince":"2026-11-28T09:00:00.25Z""#),
            "{written}"
        );
        assert_eq!(TokenSet::parse(&written).unwrap(), rotating);
        // Secrets written before it existed, or by hand, still read; so does a bad value.
        assert_eq!(
            TokenSet::parse(r#"{"current":"b","previous":"a"}"#)
                .unwrap()
                .current_since,
            None
        );
        let unreadable = TokenSet::parse(r#"{"current":"b","previous":"a","currentSince":"yesterday"}"#).unwrap();
        assert_eq!(unreadable.current_since, None);
        assert_eq!(unreadable.current, token("b"));
    }

    #[test]
    fn a_bad_secret_is_named_without_its_content() {
        assert_eq!(TokenSet::parse(r#"{"previous":"a"}"#), Err(TokenSetError::NoCurrent));
        assert_eq!(TokenSet::parse(r#"{"current":""}"#), Err(TokenSetError::NoCurrent));
        assert_eq!(TokenSet::parse("{not json"), Err(TokenSetError::NoCurrent));
        let bad = TokenSet::parse(r#"{"current":"ok","previous":"has space"}"#).unwrap_err();
        assert_eq!(bad, TokenSetError::Malformed { field: "previous" });
        assert_eq!(
            bad.to_string(),
            "its previous token must be 1 to 256 visible ASCII characters"
        );
        assert_eq!(
            TokenSet::parse("two words"),
            Err(TokenSetError::Malformed { field: "current" })
        );
    }
}
