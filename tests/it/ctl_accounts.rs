//! `cc-number-relay-ctl accounts add|list|remove`, run as the real binary
//! against moto (the registry table and the stack's KMS key) and the
//! RingCentral stand-in serving two customer accounts besides the default one.

use crate::inventory::inventory_table;
use crate::registry::{accounts_table, stack_key};
use crate::support::ringcentral_standin::phone_numbers::{record, record_in};
use crate::support::ringcentral_standin::*;
use crate::support::*;
use cc_number_relay::change::Timestamp;
use cc_number_relay::change::{AccountId, EventType, PhoneNumberId};
use cc_number_relay::inventory::dynamodb::{DynamoInventory, SCAN_TIMEOUTS};
use cc_number_relay::inventory::Inventory;
use cc_number_relay::registry::dynamodb::DynamoRegistry;
use cc_number_relay::registry::{AccountRegistry, SubscriptionRecord, Tenant};
use std::path::PathBuf;

pub const A: &str = "51000001";
pub const B: &str = "62000002";
const CC: &str = "ContactCenterNumber";

pub fn number_filter(account: &str) -> String {
    format!("/restapi/v1.0/account/{account}/phone-number?usageType=ContactCenterNumber")
}

pub struct Setup {
    pub aws: Aws,
    pub standin: StandIn,
    pub webhook: FakeWebhook,
    pub registry: DynamoRegistry,
    /// The app's client id and secret, the registry: no RINGCENTRAL_JWT.
    pub env: Vec<(&'static str, String)>,
    jwt_files: tempdir::Dir,
    /// With [`Setup::with_inventory`]: the topics and their subscriber queues.
    pub topology: Option<Topology>,
    pub inventory_table: Option<String>,
}

/// A directory of JWT files, removed with the test.
mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Setup {
    /// Also the stack's inventory and topics (INVENTORY_TABLE and the topic ARNs in `env`).
    pub async fn with_inventory() -> Self {
        let mut s = Self::new().await;
        let topology = Topology::create(&s.aws, false).await;
        let table = inventory_table(&s.aws).await;
        s.env
            .extend(topology.env().into_iter().filter(|(k, _)| k.ends_with("_TOPIC_ARN")));
        s.env.push(("INVENTORY_TABLE", table.clone()));
        s.topology = Some(topology);
        s.inventory_table = Some(table);
        s
    }

    /// `account`'s view of the inventory.
    pub fn inventory_of(&self, account: &str) -> DynamoInventory {
        let table = self.inventory_table.clone().unwrap();
        DynamoInventory::new(&self.aws.sdk, table, SCAN_TIMEOUTS).for_tenant(Tenant::Registered(id(account)))
    }

    /// What subscribers received since last asked: type, number, account, origin.
    pub async fn received(&self) -> Vec<(&'static str, String, String, String)> {
        let topology = self.topology.as_ref().unwrap();
        let mut all = Vec::new();
        for kind in EVENT_TYPES {
            for m in drain_now(&self.aws, topology.subscriber_of(kind)).await {
                let change = m.json();
                all.push((
                    kind,
                    change["phoneNumber"]["id"].as_str().unwrap().to_owned(),
                    change["accountId"].as_str().unwrap_or("none").to_owned(),
                    m.attributes["origin"].clone(),
                ));
            }
        }
        all.sort();
        all
    }

    pub async fn new() -> Self {
        let aws = Aws::moto().await;
        let table = accounts_table(&aws).await;
        let key = stack_key(&aws).await;
        let standin = StandIn::start();
        standin.add_account(A);
        standin.add_account(B);
        let env = vec![
            ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
            ("RINGCENTRAL_CLIENT_ID", CLIENT_ID.to_owned()),
            ("RINGCENTRAL_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("ACCOUNTS_TABLE", table.clone()),
            ("ACCOUNTS_KEY_ID", key.clone()),
        ];
        let dir = std::env::temp_dir().join(unique("ctl-accounts"));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            registry: DynamoRegistry::new(&aws.sdk, table, Some(key), SCAN_TIMEOUTS),
            aws,
            standin,
            webhook: FakeWebhook::start(Behavior::Echo),
            env,
            jwt_files: tempdir::Dir(dir),
            topology: None,
            inventory_table: None,
        }
    }

    /// A file holding `account`'s JWT as the stand-in issued it.
    fn jwt_file(&self, account: &str) -> PathBuf {
        let path = self.jwt_files.0.join(account);
        std::fs::write(&path, format!("{}\n", self.standin.account(account).credentials().jwt)).unwrap();
        path
    }

    pub fn add(&self, account: &str, jwt_of: &str, address: &str) -> Run {
        let file = self.jwt_file(jwt_of);
        ctl(
            &self.env,
            &[
                "accounts",
                "add",
                "--account-id",
                account,
                "--jwt-file",
                file.to_str().unwrap(),
                "--address",
                address,
            ],
        )
    }

    pub fn the_subscription_of(&self, account: &str) -> Sub {
        let mut subscriptions = self.standin.account(account).subscriptions();
        assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
        subscriptions.remove(0)
    }
}

pub fn id(text: &str) -> AccountId {
    AccountId::parse(text).unwrap()
}

pub fn one_error_line(run: &Run) -> &str {
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.starts_with("accounts ")).collect();
    assert_eq!(lines.len(), 1, "one error line on stderr: {:?}", run.stderr);
    lines[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accounts_are_added_listed_and_removed() {
    let s = Setup::new().await;
    let address = s.webhook.address.clone();

    let run = s.add(A, A, &address);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let sub_a = s.the_subscription_of(A);
    assert_eq!(
        run.stdout.lines().next().unwrap(),
        format!(
            "registered account {A}: subscription {}, status Active, expires {}, address {address}",
            sub_a.id,
            rfc3339(sub_a.expiration)
        )
    );
    assert_eq!(
        run.stderr,
        format!(
            "accounts add: signing in with the JWT and checking it is account {A}'s\n\
             accounts add: creating account {A}'s subscription to {address} (RingCentral validates the address first)\n"
        )
    );
    // Its own subscription, under its own account, naming it.
    assert_eq!(
        (sub_a.account_id.as_str(), sub_a.address.as_str()),
        (A, address.as_str())
    );
    assert_eq!(sub_a.event_filters, [number_filter(A)]);
    assert!(s.standin.account(DEFAULT_ACCOUNT_ID).subscriptions().is_empty());

    // B through a credentials secret that holds no RINGCENTRAL_JWT: the app alone.
    let secret = aws_sdk_secretsmanager::Client::new(&s.aws.sdk)
        .create_secret()
        .name(unique("app-credentials"))
        .secret_string(
            serde_json::json!({"RINGCENTRAL_CLIENT_ID": CLIENT_ID, "RINGCENTRAL_CLIENT_SECRET": CLIENT_SECRET})
                .to_string(),
        )
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let env: Vec<(&str, String)> = s
        .env
        .iter()
        .filter(|(k, _)| k.starts_with("ACCOUNTS_") || *k == "RINGCENTRAL_SERVER_URL")
        .cloned()
        .collect();
    let file = s.jwt_file(B);
    let run = ctl(
        &env,
        &[
            "accounts",
            "add",
            "--account-id",
            B,
            "--jwt-file",
            file.to_str().unwrap(),
            "--address",
            &address,
            "--credentials-secret",
            &secret,
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let sub_b = s.the_subscription_of(B);
    assert_eq!(sub_b.event_filters, [number_filter(B)]);
    assert_ne!(
        sub_a.verification_token, sub_b.verification_token,
        "each account its own token"
    );

    // The registry: the account's JWT, the token its subscription delivers with, the subscription.
    for (account, sub) in [(A, &sub_a), (B, &sub_b)] {
        let registered = s.registry.get(&id(account)).await.unwrap().unwrap();
        assert_eq!(registered.jwt.expose(), s.standin.account(account).credentials().jwt);
        assert_eq!(
            Some(registered.tokens.current.expose()),
            sub.verification_token.as_deref()
        );
        assert!(!registered.tokens.rotating());
        assert_eq!(registered.summary.address, address);
        assert_eq!(
            registered.summary.subscription,
            Some(SubscriptionRecord {
                id: sub.id.clone(),
                status: "Active".into(),
                expires_at: Some(Timestamp::parse(rfc3339(sub.expiration)).unwrap()),
            })
        );
        assert!(registered.summary.last_checked_at.is_some());
        assert_eq!(registered.summary.last_finding, None);
    }

    let listed = ctl(&s.env, &["accounts", "list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let line = |account: &str, sub: &Sub| {
        format!(
            "  {account}: subscription {} Active, expires {}; reconciled never; last finding none",
            sub.id,
            rfc3339(sub.expiration)
        )
    };
    assert_eq!(
        listed.stdout,
        format!(
            "the default account is the stack's own (its credentials secret), not listed here\n\
             2 registered accounts:\n{}\n{}\n",
            line(A, &sub_a),
            line(B, &sub_b)
        )
    );

    let json = ctl(&s.env, &["accounts", "list", "--json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let summaries = s.registry.list().await.unwrap();
    let expected: Vec<serde_json::Value> = [(A, &sub_a), (B, &sub_b)]
        .iter()
        .zip(&summaries)
        .map(|((account, sub), summary)| {
            serde_json::json!({"accountId": account, "address": address, "addedAt": summary.added_at.as_str(),
                "subscriptionId": sub.id, "subscriptionStatus": "Active", "expiresAt": rfc3339(sub.expiration),
                "lastCheckedAt": summary.last_checked_at.as_ref().unwrap().as_str(),
                "lastReconciledAt": null, "lastFinding": null})
        })
        .collect();
    let printed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(printed, serde_json::Value::Array(expected));

    // A: its subscription deleted with its own JWT, then forgotten.
    let removed = ctl(&s.env, &["accounts", "remove", "--account-id", A]);
    assert_eq!(removed.code, 0, "{}{}", removed.stdout, removed.stderr);
    assert_eq!(
        removed.stdout,
        format!(
            "deleted subscription {}\n{}removed account {A} from the registry\n",
            sub_a.id,
            not_told(A)
        )
    );
    assert!(s.standin.account(A).subscriptions().is_empty());
    assert!(s.registry.get(&id(A)).await.unwrap().is_none());
    assert_eq!(s.the_subscription_of(B).id, sub_b.id, "B's untouched");

    // B's subscription already gone at RingCentral: removed all the same.
    s.standin.set_expiration(
        &sub_b.id,
        time::OffsetDateTime::now_utc() - std::time::Duration::from_secs(1),
    );
    let removed = ctl(&s.env, &["accounts", "remove", "--account-id", B]);
    assert_eq!(removed.code, 0, "{}{}", removed.stdout, removed.stderr);
    assert_eq!(
        removed.stdout,
        format!(
            "subscription {} is already gone\n{}removed account {B} from the registry\n",
            sub_b.id,
            not_told(B)
        )
    );
    assert!(s.registry.list().await.unwrap().is_empty());
    let listed = ctl(&s.env, &["accounts", "list", "--json"]);
    assert_eq!(listed.stdout, "[]\n");

    let again = ctl(&s.env, &["accounts", "remove", "--account-id", B]);
    assert_eq!(again.code, 1);
    assert_eq!(
        one_error_line(&again),
        format!("cc-number-relay-ctl: account {B} is not registered (`cc-number-relay-ctl accounts list` lists those that are)")
    );
}

/// `accounts remove`'s line without the stack's inventory.
fn not_told(account: &str) -> String {
    format!(
        "account {account}'s numbers not told Deleted (environment variable INVENTORY_TABLE is not set): the stack's INVENTORY_TABLE and topic ARNs tell subscribers\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn add_takes_the_accounts_baseline_quietly_and_remove_tells_its_numbers_deleted() {
    let s = Setup::with_inventory().await;
    let address = s.webhook.address.clone();
    let (a, b) = (s.standin.account(A), s.standin.account(B));
    a.put_number(record_in(A, 2001, "+12025550201", CC));
    a.put_number(record_in(A, 2002, "+12025550202", CC));
    b.put_number(record_in(B, 3001, "+12025550301", CC));
    s.standin.put_number(record(1001, "+12025550101", CC));

    for account in [A, B] {
        let run = s.add(account, account, &address);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        let numbers = if account == A { 2 } else { 1 };
        assert_eq!(
            run.stdout.lines().nth(1).unwrap(),
            format!(
                "reconcile summary: {numbers} numbers in 1 pages, published 0, superseded by newer notifications 0, failed 0, \
                 took the baseline (numbers never told before, recorded quietly: {numbers})"
            )
        );
        assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
        let registered = s.registry.get(&id(account)).await.unwrap().unwrap().summary;
        let reconciled = registered.last_reconciled_at.expect("lastReconciledAt recorded");
        assert!(reconciled.instant() >= registered.added_at.instant());
        assert_eq!(
            registered.subscription.map(|r| r.id),
            Some(s.the_subscription_of(account).id),
            "the subscription kept"
        );
    }
    // The baseline is quiet: nothing told, each number recorded as its account's.
    assert_eq!(s.received().await, []);
    let ids = |told: Vec<cc_number_relay::inventory::Told>| {
        let mut ids: Vec<(String, Option<String>, EventType)> = told
            .into_iter()
            .map(|t| {
                (
                    t.id().to_string(),
                    t.change.account_id.map(|a| a.to_string()),
                    t.change.change_type,
                )
            })
            .collect();
        ids.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        ids
    };
    assert_eq!(
        ids(s.inventory_of(A).all().await.unwrap()),
        [
            ("2001".to_owned(), Some(A.to_owned()), EventType::Created),
            ("2002".to_owned(), Some(A.to_owned()), EventType::Created)
        ]
    );
    assert_eq!(
        ids(s.inventory_of(B).all().await.unwrap()),
        [("3001".to_owned(), Some(B.to_owned()), EventType::Created)]
    );
    let listed = ctl(&s.env, &["accounts", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert!(listed[0]["lastReconciledAt"].is_string(), "{listed}");

    // A removed: its subscription deleted, then one Deleted per number, its id on each.
    let sub_a = s.the_subscription_of(A);
    let removed = ctl(&s.env, &["accounts", "remove", "--account-id", A]);
    assert_eq!(removed.code, 0, "{}{}", removed.stdout, removed.stderr);
    assert_eq!(
        removed.stdout,
        format!(
            "deleted subscription {}\nDeleted 2001 +12025550201\nDeleted 2002 +12025550202\n\
             told subscribers account {A}'s 2 Contact Center numbers are Deleted\nremoved account {A} from the registry\n",
            sub_a.id
        )
    );
    let deleted = |number: &str, account: &str| {
        (
            "Deleted",
            number.to_owned(),
            account.to_owned(),
            "reconciliation".to_owned(),
        )
    };
    assert_eq!(s.received().await, [deleted("2001", A), deleted("2002", A)]);
    for number in ["2001", "2002"] {
        let held = s
            .inventory_of(A)
            .last_told(&PhoneNumberId::parse(number).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (held.change.change_type, held.change.account_id),
            (EventType::Deleted, Some(id(A)))
        );
    }
    assert!(s.registry.get(&id(A)).await.unwrap().is_none());

    // B's JWT revoked: --forget-only skips RingCentral, tells the Deleted all the same.
    let sub_b = s.the_subscription_of(B);
    let grants = b.token_grants();
    let removed = ctl(&s.env, &["accounts", "remove", "--account-id", B, "--forget-only"]);
    assert_eq!(removed.code, 0, "{}{}", removed.stdout, removed.stderr);
    assert_eq!(
        removed.stdout,
        format!(
            "account {B}'s subscriptions at RingCentral could not be deleted (--forget-only skips RingCentral; recorded {}): \
             they stay until they expire or are deleted with the account's JWT\nDeleted 3001 +12025550301\n\
             told subscribers account {B}'s 1 Contact Center numbers are Deleted\nremoved account {B} from the registry\n",
            sub_b.id
        )
    );
    assert_eq!(b.token_grants(), grants, "RingCentral not asked");
    assert_eq!(s.the_subscription_of(B).id, sub_b.id);
    assert_eq!(s.received().await, [deleted("3001", B)]);

    // Back in the default account's scope, the items told Deleted are no
    // Contact Center numbers: its reconciliation concludes nothing from them.
    let mut env = s.env.clone();
    env.extend(s.standin.env());
    let run = ctl(&env, &["reconcile", "--page-interval", "0"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(s.received().await, []);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwt_of_another_account_is_refused_and_nothing_is_registered() {
    let s = Setup::new().await;
    let run = s.add(A, B, &s.webhook.address);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        one_error_line(&run),
        format!(
            "cc-number-relay-ctl: the JWT signs in to another account than {A}: check --jwt-file and --account-id (nothing was registered)"
        )
    );
    assert!(run.stdout.is_empty());
    assert!(s.registry.list().await.unwrap().is_empty());
    for account in [A, B, DEFAULT_ACCOUNT_ID] {
        assert!(s.standin.account(account).subscriptions().is_empty(), "{account}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_subscription_leaves_nothing_registered_and_add_can_be_run_again() {
    let s = Setup::new().await;
    let deaf_address = FakeWebhook::start(Behavior::NoEcho);
    let run = s.add(A, A, &deaf_address.address);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let line = one_error_line(&run);
    assert!(
        line.starts_with(
            "cc-number-relay-ctl: RingCentral refused the subscription (SUB-520: Validation Token is not returned): "
        ),
        "{line}"
    );
    assert!(
        line.ends_with(&format!(
            " (account {A} was not registered: run `accounts add` again once this is fixed)"
        )),
        "{line}"
    );
    assert!(s.registry.list().await.unwrap().is_empty());
    assert!(s.standin.account(A).subscriptions().is_empty());

    let rerun = s.add(A, A, &s.webhook.address);
    assert_eq!(rerun.code, 0, "{}{}", rerun.stdout, rerun.stderr);
    assert_eq!(s.registry.list().await.unwrap().len(), 1);

    // Twice: refused before anything is created.
    let twice = s.add(A, A, &s.webhook.address);
    assert_eq!(twice.code, 1);
    assert_eq!(
        one_error_line(&twice),
        format!(
            "cc-number-relay-ctl: account {A} is already registered: `cc-number-relay-ctl accounts remove --account-id {A}` first to register it anew"
        )
    );
    assert_eq!(s.standin.account(A).subscriptions().len(), 1);
}

#[test]
fn without_the_key_id_nothing_is_added() {
    let standin = StandIn::start();
    standin.add_account(A);
    let env = vec![
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
        ("RINGCENTRAL_CLIENT_ID", CLIENT_ID.to_owned()),
        ("RINGCENTRAL_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("ACCOUNTS_TABLE", "accounts".to_owned()),
    ];
    let run = ctl(
        &env,
        &[
            "accounts",
            "add",
            "--account-id",
            A,
            "--jwt-file",
            "/nonexistent",
            "--address",
            "http://127.0.0.1:9/hook",
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: environment variable ACCOUNTS_KEY_ID is not set (the stack's KMS key, which seals each account's credential and tokens)"
    );
    assert_eq!(standin.account(A).token_grants(), 0);
}
