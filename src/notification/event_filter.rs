//! Matching the `event` field by shape: RingCentral sends a digit id, `~`,
//! or (in its own example) the literal `{accountId}` in the same place.

use super::DecodeError;
use crate::change::AccountId;

const ACCOUNT_PREFIX: &str = "/restapi/v1.0/account/";
const PHONE_NUMBER_SUFFIX: &str = "/phone-number";
const SUBSCRIPTION_PREFIX: &str = "/restapi/v1.0/subscription/";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    ContactCenterNumbers { account_id: Option<AccountId> },
    RenewalReminder,
}

impl EventFilter {
    pub fn parse(event: &str) -> Result<Self, DecodeError> {
        let (path, query) = event.split_once('?').unwrap_or((event, ""));
        if let Some(segment) = path.strip_prefix(SUBSCRIPTION_PREFIX) {
            if !segment.is_empty() && !segment.contains('/') && has_param(query, "threshold") {
                return Ok(Self::RenewalReminder);
            }
        }
        let account = path
            .strip_prefix(ACCOUNT_PREFIX)
            .and_then(|rest| rest.strip_suffix(PHONE_NUMBER_SUFFIX))
            .ok_or(DecodeError::UnexpectedEventFilter(
                "not the Contact Center phone-number event filter",
            ))?;
        if !query.split('&').any(|pair| pair == "usageType=ContactCenterNumber") {
            return Err(DecodeError::UnexpectedEventFilter(
                "query must carry usageType=ContactCenterNumber",
            ));
        }
        let account_id = match account {
            "~" | "{accountId}" => None,
            id => Some(
                AccountId::parse(id)
                    .map_err(|_| DecodeError::UnexpectedEventFilter("account must be digits, '~' or '{accountId}'"))?,
            ),
        };
        Ok(Self::ContactCenterNumbers { account_id })
    }
}

fn has_param(query: &str, name: &str) -> bool {
    query.split('&').any(|pair| pair.split('=').next() == Some(name))
}

/// What comes before the account id in a resource path.
pub(super) const ACCOUNT_MARK: &str = "/account/";

/// The account id in `…/account/{id}/phone-number/…`, when it is a real id.
pub fn account_in_uri(uri: &str) -> Option<AccountId> {
    let after = &uri[uri.find(ACCOUNT_MARK)? + ACCOUNT_MARK.len()..];
    AccountId::parse(account_after_mark(after.as_bytes())?).ok()
}

/// `{id}` of `{id}/phone-number…`, the bytes just after an [`ACCOUNT_MARK`],
/// when it is a real id (`AccountId`'s rule: 1 to 32 digits): the one rule
/// the decoder and the claim reader share. Bytes in, borrowed text out: the
/// claim reader runs on every request and neither validates the whole body
/// as UTF-8 nor allocates.
pub(super) fn account_after_mark(after: &[u8]) -> Option<&str> {
    let end = after.iter().take(33).position(|b| *b == b'/')?;
    let (id, rest) = (&after[..end], &after[end + 1..]);
    let real = !id.is_empty() && id.iter().all(u8::is_ascii_digit);
    if !real || !rest.starts_with(b"phone-number") {
        return None;
    }
    std::str::from_utf8(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(event: &str) -> Option<String> {
        match EventFilter::parse(event).unwrap() {
            EventFilter::ContactCenterNumbers { account_id } => account_id.map(|a| a.to_string()),
            EventFilter::RenewalReminder => panic!("not a number filter"),
        }
    }

    #[test]
    fn accepts_every_account_placeholder_ringcentral_uses() {
        assert_eq!(
            account("/restapi/v1.0/account/37439510/phone-number?usageType=ContactCenterNumber"),
            Some("37439510".into())
        );
        assert_eq!(
            account("/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber"),
            None
        );
        assert_eq!(
            account("/restapi/v1.0/account/{accountId}/phone-number?usageType=ContactCenterNumber"),
            None
        );
        assert_eq!(
            account("/restapi/v1.0/account/1/phone-number?foo=1&usageType=ContactCenterNumber"),
            Some("1".into())
        );
    }

    #[test]
    fn refuses_other_filters() {
        for bad in [
            "/restapi/v1.0/account/~/extension/~/message-store",
            "/restapi/v1.0/account/~/phone-number",
            "/restapi/v1.0/account/~/phone-number?usageType=MainCompanyNumber",
            "/restapi/v1.0/account/abc/phone-number?usageType=ContactCenterNumber",
            "",
        ] {
            assert!(
                matches!(EventFilter::parse(bad), Err(DecodeError::UnexpectedEventFilter(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn recognises_renewal_reminders() {
        assert_eq!(
            EventFilter::parse("/restapi/v1.0/subscription/~?threshold=86400&interval=3600"),
            Ok(EventFilter::RenewalReminder)
        );
    }

    #[test]
    fn finds_account_in_resource_uri() {
        assert_eq!(
            account_in_uri("https://platform.ringcentral.com/restapi/v1.0/account/37439510/phone-number/987654321")
                .map(|a| a.to_string()),
            Some("37439510".into())
        );
        assert_eq!(
            account_in_uri("https://platform.ringcentral.com/restapi/v1.0/account/~/phone-number/1"),
            None
        );
        assert_eq!(account_in_uri("nonsense"), None);
    }
}
