//! The account a notification body claims, read before it is authenticated:
//! it only chooses whose tokens the request is checked against, and the
//! webhook refuses a decoded notification of any other account, so a wrong
//! claim can cost a refusal, never an acceptance.
//!
//! It runs on every request, forged ones included, so it is a scan of the
//! bytes, not a JSON parse: the first real account id in a
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

/// Never fails: a body that names no real account claims none.
pub fn claimed_account(body: &[u8]) -> Option<ClaimedAccount<'_>> {
    let mark = ACCOUNT_MARK.as_bytes();
    let mut from = 0;
    while let Some(slash) = next_slash(body, from) {
        let id = body[slash..].strip_prefix(mark).and_then(account_after_mark);
        if let Some(id) = id {
            return Some(ClaimedAccount(id));
        }
        from = slash + 1;
    }
    None
}

/// The first `/` at or after `from`, eight bytes at a time. Slash to slash
/// with the mark checked in place costs about a quarter of a substring
/// search (`str::find`) or of `find('/')` call after call, on RingCentral's
/// sample body, measured: what keeps serving many accounts within 5% of
/// serving one.
fn next_slash(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const SLASHES: u64 = u64::from_ne_bytes([b'/'; 8]);
    let rest = bytes.get(from..)?;
    let mut chunks = rest.chunks_exact(8);
    let mut at = from;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        // A zero byte where the word has a slash: the lowest flagged byte
        // is the first slash (borrows only flag bytes above a real one).
        let x = u64::from_le_bytes(word) ^ SLASHES;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks.remainder().iter().position(|b| *b == b'/').map(|i| at + i)
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
        assert_eq!(claim("/account/5/extension/1"), None);
        assert_eq!(claim("/account/5/extension/1"), None);
    }

    #[test]
    fn finds_every_slash_wherever_it_falls_in_a_word() {
        let text = "ab/cdefghij/k//lmnopqrstuvwx/yz/a/b"; // the last three: not a whole word
        let expected: Vec<usize> = text.match_indices('/').map(|(at, _)| at).collect();
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = next_slash(text.as_bytes(), from) {
            found.push(at);
            from = at + 1;
        }
        assert_eq!(found, expected);
        assert_eq!(next_slash(b"////////", 3), Some(3));
        assert_eq!(next_slash(b"abc", 9), None);
        assert_eq!(next_slash(b"\x80\xff/", 0), Some(2));
        // Bytes around the path are the decoder's to judge.
        assert_eq!(
            claimed_account(b"\xff\xfe/account/5/phone-number").map(|c| c.as_str()),
            Some("5")
        );
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
