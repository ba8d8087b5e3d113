//! A registered account's side of RingCentral: whether a JWT signs in to
//! the account it is registered for, and the account's subscription, whose
//! Contact Center filter names the account instead of `~`.
//!
//! Naming the account makes the subscription say whose numbers it is for
//! (RingCentral refuses, SUB-406, a filter naming any account but the
//! caller's), and its notifications' `event` carry the id the relay routes by.

use super::client::{Client, Method};
use super::error::RingCentralError as Error;
use super::subscription::{expect_ok, Subscription, RENEWAL_REMINDER_FILTER};
use crate::change::AccountId;
use crate::token::VerificationToken;

const SUBSCRIPTIONS: &str = "/restapi/v1.0/subscription";

/// `account`'s Contact Center numbers, as its subscription's event filter.
pub fn account_number_filter(account: &AccountId) -> String {
    format!("/restapi/v1.0/account/{account}/phone-number?usageType=ContactCenterNumber")
}

/// The relay's two filters for a registered account: its numbers, and the
/// renewal reminders of the subscription itself (`~`, as for the default account).
pub fn account_filters(account: &AccountId) -> [String; 2] {
    [account_number_filter(account), RENEWAL_REMINDER_FILTER.to_owned()]
}

/// The body of `POST /restapi/v1.0/subscription` for `account`: the shape of
/// [`super::new_subscription_body`] (a test keeps them alike) with the
/// account's filters.
pub fn new_account_subscription_body(
    account: &AccountId,
    address: &str,
    verification_token: &VerificationToken,
    expires_in: u32,
) -> String {
    serde_json::json!({
        "eventFilters": account_filters(account),
        "deliveryMode": {
            "transportType": "WebHook",
            "address": address,
            "verificationToken": verification_token.expose(),
        },
        "expiresIn": expires_in,
    })
    .to_string()
}

/// What the JWT a client signs in with turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignsIn {
    ToTheAccount,
    /// RingCentral refused the account's path to this caller (403 CMN-101
    /// naming `accountId`): the JWT is another account's.
    ToAnotherAccount,
}

impl Client {
    /// Whether this client's JWT signs in to `account`: one short read of
    /// the account's phone numbers by its id (`perPage=1`).
    pub fn signs_in_to(&self, account: &AccountId) -> Result<SignsIn, Error> {
        let operation = "reading the account's phone numbers";
        let path = format!("/restapi/v1.0/account/{account}/phone-number?perPage=1");
        match self.api(Method::Get, &path, None, operation) {
            Ok(answer) => expect_ok(&answer, operation).map(|()| SignsIn::ToTheAccount),
            Err(e) if e.code() == Some("CMN-101") => Ok(SignsIn::ToAnotherAccount),
            Err(e) => Err(e),
        }
    }

    /// Creates `account`'s subscription to `address`. RingCentral first
    /// sends its validation request to `address`; SUB-52x mean that failed.
    pub fn create_account_subscription(
        &self,
        account: &AccountId,
        address: &str,
        verification_token: &VerificationToken,
        expires_in: u32,
    ) -> Result<Subscription, Error> {
        let operation = "creating the subscription";
        let body = new_account_subscription_body(account, address, verification_token, expires_in);
        let answer = self.api(Method::Post, SUBSCRIPTIONS, Some(&body), operation)?;
        if !(200..300).contains(&answer.status) {
            return Err(Error::from_answer(
                answer.status,
                operation,
                &answer.body,
                Some(address),
            ));
        }
        serde_json::from_str(&answer.body).map_err(|e| Error::InvalidAnswer {
            operation,
            detail: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::EventFilter;
    use crate::ringcentral::{new_subscription_body, MAX_EXPIRES_IN};

    #[test]
    fn the_accounts_body_is_the_relays_with_the_account_named() {
        let account = AccountId::parse("51234567").unwrap();
        let token = VerificationToken::parse("t0ken".into()).unwrap();
        let parse = |body: String| serde_json::from_str::<serde_json::Value>(&body).unwrap();
        let mut ours = parse(new_account_subscription_body(
            &account,
            "https://x/y",
            &token,
            MAX_EXPIRES_IN,
        ));
        assert_eq!(
            ours["eventFilters"],
            serde_json::json!([
                "/restapi/v1.0/account/51234567/phone-number?usageType=ContactCenterNumber",
                "/restapi/v1.0/subscription/~?threshold=86400&interval=3600"
            ])
        );
        let mut relays = parse(new_subscription_body("https://x/y", &token, MAX_EXPIRES_IN));
        ours["eventFilters"] = serde_json::Value::Null;
        relays["eventFilters"] = serde_json::Value::Null;
        assert_eq!(ours, relays);
    }

    #[test]
    fn the_relay_reads_the_accounts_filter_as_its_own() {
        let account = AccountId::parse("51234567").unwrap();
        assert_eq!(
            EventFilter::parse(&account_number_filter(&account)),
            Ok(EventFilter::ContactCenterNumbers {
                account_id: Some(account)
            })
        );
    }
}
