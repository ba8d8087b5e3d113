//! Many RingCentral accounts behind one app, as a public app installed by
//! many customers sees them: the app's client id and secret are the same
//! for all ([`CLIENT_ID`], [`CLIENT_SECRET`]); each customer account signs
//! in with its own JWT credential, and the token grant maps the JWT to its
//! account. An access token carries its account: `/account/~/…` is the
//! caller's account, subscriptions are the caller's account's.
//!
//! The default account ([`DEFAULT_ACCOUNT_ID`], signed in by [`JWT`]) is
//! there from the start, and every method of [`StandIn`] without an
//! account works on it; [`StandIn::add_account`] adds more, and
//! [`StandIn::account`] is a handle on one (its numbers, subscriptions and
//! token grants).
//!
//! What stays the app's, shared by every account: its permissions, token
//! lifetime, rate limits (`rate_limit`, `heavy_rate_limit`: the stand-in's
//! counters were never per token), forced creation refusals
//! (`fail_creations`), shape knobs, and subscription ids (unique across
//! accounts). What is each account's: its numbers, its subscriptions, and
//! the `limit_subscriptions` count (SUB-505 counts the caller's account's
//! subscriptions only: RingCentral's limit is per user and app).

use super::{variants, StandIn, Sub, CLIENT_ID, CLIENT_SECRET, DEFAULT_ACCOUNT_ID, JWT, MAX_EXPIRES_IN};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use time::OffsetDateTime;

/// One customer account's credentials for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCredentials {
    pub account_id: String,
    /// The app's: the same for every account.
    pub client_id: String,
    /// The app's: the same for every account.
    pub client_secret: String,
    /// The account's own JWT credential.
    pub jwt: String,
    /// The extension the JWT signs in as: the token's `owner_id`, and a
    /// notification's `ownerId` for the account's subscriptions (made up:
    /// the account id and `0001`). The default account's is the account id,
    /// as the stand-in's token has always said.
    pub owner_id: String,
}

impl AccountCredentials {
    /// RINGCENTRAL_* for the CLI, signing in to this account.
    pub fn env(&self, standin: &StandIn) -> Vec<(&'static str, String)> {
        vec![
            ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
            ("RINGCENTRAL_CLIENT_ID", self.client_id.clone()),
            ("RINGCENTRAL_CLIENT_SECRET", self.client_secret.clone()),
            ("RINGCENTRAL_JWT", self.jwt.clone()),
        ]
    }

    /// The credentials as a Secrets Manager secret holds them.
    pub fn secret_json(&self) -> String {
        json!({"RINGCENTRAL_CLIENT_ID": self.client_id, "RINGCENTRAL_CLIENT_SECRET": self.client_secret,
               "RINGCENTRAL_JWT": self.jwt})
        .to_string()
    }
}

/// What the stand-in keeps of one account.
pub(super) struct Entry {
    pub jwt: String,
    pub owner_id: String,
    /// Token grants with this account's JWT.
    pub grants: usize,
}

impl Entry {
    /// The accounts a new stand-in has: the default one.
    pub(super) fn default_account() -> BTreeMap<String, Entry> {
        let entry = Entry {
            jwt: JWT.to_owned(),
            owner_id: DEFAULT_ACCOUNT_ID.to_owned(),
            grants: 0,
        };
        [(DEFAULT_ACCOUNT_ID.to_owned(), entry)].into()
    }
}

/// A handle on one account of the stand-in ([`StandIn::account`]).
pub struct Account<'a> {
    standin: &'a StandIn,
    id: String,
}

impl StandIn {
    /// Adds a customer account (an id of digits, as RingCentral's are) that
    /// installed the app: its own JWT, no numbers, no subscriptions.
    pub fn add_account(&self, account_id: &str) -> AccountCredentials {
        use base64::Engine;
        assert!(
            !account_id.is_empty() && account_id.bytes().all(|b| b.is_ascii_digit()),
            "an account id is digits: {account_id}"
        );
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("stand-in:{account_id}"));
        let entry = Entry {
            jwt: format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl"),
            owner_id: format!("{account_id}0001"),
            grants: 0,
        };
        self.with(|s| {
            assert!(!s.accounts.contains_key(account_id), "account {account_id} exists");
            s.accounts.insert(account_id.to_owned(), entry);
        });
        self.account(account_id).credentials()
    }

    /// A handle on an account: the default one ([`DEFAULT_ACCOUNT_ID`]) or
    /// one added. Panics for an unknown id.
    pub fn account(&self, account_id: &str) -> Account<'_> {
        assert!(
            self.with(|s| s.accounts.contains_key(account_id)),
            "no account {account_id} in the stand-in"
        );
        Account {
            standin: self,
            id: account_id.to_owned(),
        }
    }

    /// The ids of every account, the default one included.
    pub fn account_ids(&self) -> Vec<String> {
        self.with(|s| s.accounts.keys().cloned().collect())
    }
}

impl Account<'_> {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn credentials(&self) -> AccountCredentials {
        self.standin.with(|s| {
            let entry = &s.accounts[&self.id];
            AccountCredentials {
                account_id: self.id.clone(),
                client_id: CLIENT_ID.to_owned(),
                client_secret: CLIENT_SECRET.to_owned(),
                jwt: entry.jwt.clone(),
                owner_id: entry.owner_id.clone(),
            }
        })
    }

    /// Adds or replaces one of the account's numbers (a change RingCentral
    /// makes). The record is stored as given: [`super::phone_numbers::record_in`]
    /// makes one whose `uri` names the account.
    pub fn put_number(&self, record: Value) {
        let id = record["id"].as_u64().unwrap();
        self.standin
            .with(|s| s.numbers.records.entry(self.id.clone()).or_default().insert(id, record));
    }

    /// The account no longer has it.
    pub fn remove_number(&self, id: u64) {
        self.standin.with(|s| {
            s.numbers
                .records
                .get_mut(&self.id)
                .and_then(|records| records.remove(&id))
        });
    }

    /// The ids of the account's Contact Center numbers now.
    pub fn contact_center_ids(&self) -> BTreeSet<String> {
        self.standin.with(|s| {
            s.numbers
                .records
                .get(&self.id)
                .into_iter()
                .flatten()
                .filter(|(_, r)| r["usageType"] == "ContactCenterNumber")
                .map(|(id, _)| id.to_string())
                .collect()
        })
    }

    /// The account's subscriptions as stored, expired ones included.
    pub fn subscriptions(&self) -> Vec<Sub> {
        self.standin.with(|s| {
            s.subscriptions
                .values()
                .filter(|sub| sub.account_id == self.id)
                .cloned()
                .collect()
        })
    }

    /// A subscription of the account created earlier (its handshake long
    /// done), to the Contact Center filter with `~`.
    pub fn seed(&self, address: &str, verification_token: &str, lifetime: Duration) -> String {
        self.standin.with(|s| {
            let now = OffsetDateTime::now_utc();
            let id = s.new_id();
            s.subscriptions.insert(
                id.clone(),
                Sub {
                    id: id.clone(),
                    account_id: self.id.clone(),
                    address: address.to_owned(),
                    verification_token: Some(verification_token.to_owned()),
                    event_filters: vec![
                        "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber".to_owned(),
                    ],
                    status: "Active".to_owned(),
                    expires_in: MAX_EXPIRES_IN,
                    expiration: now + lifetime,
                    created: now,
                    blacklisted: None,
                    disabled_filters: vec![],
                },
            );
            id
        })
    }

    /// Token grants with this account's JWT so far.
    pub fn token_grants(&self) -> usize {
        self.standin.with(|s| s.accounts[&self.id].grants)
    }
}

/// 403 SUB-406 when an event filter names an account other than the
/// caller's (`/restapi/v1.0/account/{id}/…` with an id that is neither `~`
/// nor the caller's), with the spec's message for it.
pub(super) fn other_accounts_filter(filters: &[String], account: &str) -> Option<super::Answer> {
    let foreign = filters
        .iter()
        .any(|filter| named_account(filter).is_some_and(|named| named != "~" && named != account));
    foreign.then(|| variants::refusal("SUB-406"))
}

/// The account a path names: `{x}` of `/restapi/v1.0/account/{x}/…` or `…/account/{x}?…`.
fn named_account(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once("/restapi/v1.0/account/")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// A notification of `account`'s: every account path in it names the
/// account, and `ownerId` is the account's owner.
pub(super) fn carry_account(value: &mut Value, account: &str, owner_id: &str) {
    fn rewrite(value: &mut Value, account: &str) {
        match value {
            Value::String(text) => {
                if let Some(named) = named_account(text) {
                    let at = text.find("/restapi/v1.0/account/").unwrap() + "/restapi/v1.0/account/".len();
                    text.replace_range(at..at + named.len(), account);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, account)),
            Value::Object(map) => map.values_mut().for_each(|v| rewrite(v, account)),
            _ => {}
        }
    }
    rewrite(value, account);
    if value.get("ownerId").is_some() {
        value["ownerId"] = json!(owner_id);
    }
}
