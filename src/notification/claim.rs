//! The account a notification body claims, read before it is authenticated:
//! it only chooses whose tokens the request is checked against, and the
//! webhook refuses a decoded notification of any other account, so a wrong
//! claim can cost a refusal, never an acceptance.
//!
//! It runs on every request, forged ones included, so it is a substring
//! scan, not a JSON parse: the first real account id in a
//! `…/account/{id}/phone-number…` path anywhere in the body. That is the
//! decoder's rule for every body that decodes: the envelope's `event` path
//! names the account, or names `~`/`{accountId}` and leaves it to
//! `body.phoneNumberInfo.uri`; when both name one, the decoder requires
//! they agree. A path written with JSON escapes (`\/`) claims nothing.

use super::event_filter::{account_after_mark, ACCOUNT_MARK};
use crate::change::AccountId;

/// An account id a body claims, borrowed from it: 1 to 32 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimedAccount<'a>(&'a str);

impl<'a> ClaimedAccount<'a> {
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// The id, owned. `None` only if `AccountId`'s rule were to outgrow the claim's.
    pub fn to_account_id(self) -> Option<AccountId> {
        AccountId::parse(self.0).ok()
    }
}

/// Never fails: a body that is not UTF-8, or names no real account, claims none.
pub fn claimed_account(body: &[u8]) -> Option<ClaimedAccount<'_>> {
    let text = std::str::from_utf8(body).ok()?;
    text.match_indices(ACCOUNT_MARK)
        .find_map(|(at, _)| account_after_mark(&text[at + ACCOUNT_MARK.len()..]))
        .map(ClaimedAccount)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATED: &str = include_str!("../../events/bodies/created.json");
    const REMINDER: &str = include_str!("../../events/bodies/renewal-reminder.json");

    fn claim(body: &str) -> Option<String> {
        claimed_account(body.as_bytes()).map(|a| a.as_str().to_owned())
    }

    #[test]
    fn the_event_path_names_the_account_and_a_placeholder_defers_to_the_uri() {
        // RingCentral's own example: `{accountId}` in the event, the account in the uri.
        assert_eq!(claim(CREATED), Some("37439510".into()));
        let named = CREATED.replace("/account/{accountId}/phone-number", "/account/555/phone-number");
        assert_eq!(claim(&named), Some("555".into()), "the event path comes first");
        let tilde = CREATED.replace("{accountId}", "~");
        assert_eq!(claim(&tilde), Some("37439510".into()));
    }

    #[test]
    fn what_names_no_real_account_claims_none() {
        assert_eq!(claim(REMINDER), None);
        let no_uri = CREATED.replace("/account/37439510/", "/account/~/");
        assert_eq!(claim(&no_uri), None);
        assert_eq!(claim("not json at all"), None);
        assert_eq!(claim(r#"{"event":"\/restapi\/v1.0\/account\/5\/phone-number"}"#), None);
        let long = format!("/account/{}/phone-number", "1".repeat(33));
        assert_eq!(claim(&long), None);
        assert_eq!(claim("/account//phone-number"), None);
        assert_eq!(claimed_account(b"/account/5/phone-number\xff"), None);
        assert_eq!(claim("/account/5/extension/1"), None);
    }

    #[test]
    fn agrees_with_the_decoder_on_every_sample_body() {
        for name in ["created", "updated-reassigned-away", "deleted"] {
            let path = format!("{}/events/bodies/{name}.json", env!("CARGO_MANIFEST_DIR"));
            let body = std::fs::read(&path).unwrap();
            let Ok(crate::notification::Inbound::Change(change)) = crate::notification::decode(&body) else {
                panic!("{name} does not decode")
            };
            let claimed = claimed_account(&body).and_then(ClaimedAccount::to_account_id);
            assert_eq!(claimed, change.account_id, "{name}");
        }
    }
}
