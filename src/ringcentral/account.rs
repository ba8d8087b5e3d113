//! A registered account's side of RingCentral: whether a JWT signs in to
//! the account it is registered for, and the account's subscription, whose
//! Contact Center filter names the account instead of `~`.
//!
//! Naming the account makes the subscription say whose numbers it is for
//! (RingCentral refuses, SUB-406, a filter naming any account but the
//! caller's), and its notifications' `event` carry the id the relay routes by.

use super::client::{Client, Method};
use super::error::RingCentralError as Error;
use super::subscription::{expect_ok, filters_body, subscription_body, Subscription};
use super::SubscriptionApi;
use crate::change::AccountId;
use crate::token::VerificationToken;

/// `account`'s Contact Center numbers, as its subscription's event filter.
pub fn account_number_filter(account: &AccountId) -> String {
    format!("/restapi/v1.0/account/{account}/phone-number?usageType=ContactCenterNumber")
}

/// The relay's one filter for a registered account: its numbers. No renewal
/// reminder, unlike the default account's subscription: a reminder's event
/// (`/restapi/v1.0/subscription/~?…`) names no account, so the relay could
/// only check it against the default account's token and would answer a
/// registered account's reminder 401, a failed delivery in RingCentral's
/// count; and a reminder is only logged, the guardian renews on its own.
pub fn account_filters(account: &AccountId) -> [String; 1] {
    [account_number_filter(account)]
}

/// The body of `POST /restapi/v1.0/subscription` for `account`: the
/// relay's body ([`super::new_subscription_body`]) with the account's filters.
pub fn new_account_subscription_body(
    account: &AccountId,
    address: &str,
    verification_token: &VerificationToken,
    expires_in: u32,
) -> String {
    subscription_body(&account_filters(account), address, verification_token, expires_in)
}

/// The body of the `PUT` that puts `account`'s filters back on one of its
/// subscriptions, as `restore_filters` does for the default account.
pub fn account_filters_body(account: &AccountId, expires_in: u32) -> String {
    filters_body(&account_filters(account), expires_in)
}

/// A registered account's subscriptions as the guardian's core and the
/// rotation work them ([`SubscriptionApi`]): the client (signed in with the
/// account's JWT) lists, renews and deletes as ever, but what it creates or
/// mends carries the filter naming the account, so that its notifications
/// say whose numbers they are about and the relay routes them by it.
#[derive(Clone, Copy)]
pub struct AccountSubscriptions<'a> {
    client: &'a Client,
    account: &'a AccountId,
}

impl<'a> AccountSubscriptions<'a> {
    pub fn account(&self) -> &'a AccountId {
        self.account
    }
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
    /// This client's subscriptions as `account`'s: the client must sign in
    /// with that account's JWT (RingCentral refuses, SUB-406, a filter
    /// naming another account).
    pub fn as_account<'a>(&'a self, account: &'a AccountId) -> AccountSubscriptions<'a> {
        AccountSubscriptions { client: self, account }
    }

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
        let body = new_account_subscription_body(account, address, verification_token, expires_in);
        self.create_with(&body, address)
    }
}

impl SubscriptionApi for AccountSubscriptions<'_> {
    fn subscriptions_to(&self, address: &str) -> Result<Vec<Subscription>, Error> {
        self.client.subscriptions_to(address)
    }

    fn create_subscription(
        &self,
        address: &str,
        verification_token: &VerificationToken,
        expires_in: u32,
    ) -> Result<Subscription, Error> {
        self.client
            .create_account_subscription(self.account, address, verification_token, expires_in)
    }

    fn restore_filters(&self, id: &str, expires_in: u32) -> Result<Subscription, Error> {
        self.client.put_filters(id, &account_filters(self.account), expires_in)
    }

    fn renew_subscription(&self, id: &str) -> Result<Subscription, Error> {
        self.client.renew_subscription(id)
    }

    fn delete_subscription(&self, id: &str) -> Result<(), Error> {
        self.client.delete_subscription(id)
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
            serde_json::json!(["/restapi/v1.0/account/51234567/phone-number?usageType=ContactCenterNumber"]),
            "no renewal reminder: its event names no account, the relay could not authenticate it as the account's"
        );
        let mut relays = parse(new_subscription_body("https://x/y", &token, MAX_EXPIRES_IN));
        ours["eventFilters"] = serde_json::Value::Null;
        relays["eventFilters"] = serde_json::Value::Null;
        assert_eq!(ours, relays);
    }

    #[test]
    fn mending_puts_the_accounts_filters_back() {
        let account = AccountId::parse("51234567").unwrap();
        let body: serde_json::Value = serde_json::from_str(&account_filters_body(&account, 600)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"eventFilters": [
                "/restapi/v1.0/account/51234567/phone-number?usageType=ContactCenterNumber"
            ], "expiresIn": 600})
        );
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
