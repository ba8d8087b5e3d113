//! The account registry's DynamoDB adapter against moto's DynamoDB and KMS:
//! the round trip, no plaintext secret in the table, a sealed blob that
//! opens only in its own account's item and attribute, and a listing that
//! never decrypts.
//!
//! moto's KMS honours the encryption context as KMS does: it is the
//! AES-GCM additional data of moto's ciphertext, so Decrypt with another
//! context fails (InvalidCiphertextException). moto's Decrypt does not
//! check the key's state (a disabled key still decrypts there), so the
//! listing's not decrypting is shown with sealed attributes that cannot open.

use crate::support::*;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use cc_number_relay::change::{AccountId, Timestamp};
use cc_number_relay::inventory::dynamodb::SCAN_TIMEOUTS;
use cc_number_relay::registry::dynamodb::DynamoRegistry;
use cc_number_relay::registry::{
    Account, AccountRegistry, AccountSummary, CheckRecord, RegistryError, SubscriptionRecord,
};
use cc_number_relay::ringcentral::Secret;
use cc_number_relay::token::{TokenSet, VerificationToken};
use std::collections::HashMap;

/// A registry table as the template's `AccountsTable` declares it.
pub async fn accounts_table(aws: &Aws) -> String {
    let name = unique("accounts");
    aws_sdk_dynamodb::Client::new(&aws.sdk)
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("accountId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("accountId")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
}

/// A symmetric KMS key, as the stack's; its id.
pub async fn stack_key(aws: &Aws) -> String {
    aws_sdk_kms::Client::new(&aws.sdk)
        .create_key()
        .description(unique("stack-key"))
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

const JWT_A: &str = "eyJhbGciOiJSUzI1NiJ9.YWNjb3VudC1h.c2lnbmF0dXJlLWE";
const JWT_B: &str = "eyJhbGciOiJSUzI1NiJ9.YWNjb3VudC1i.c2lnbmF0dXJlLWI";
const TOKEN_A: &str = "tokenOfAccountA0123456789abcdefX";
const TOKEN_B: &str = "tokenOfAccountB0123456789abcdefY";

fn id(text: &str) -> AccountId {
    AccountId::parse(text).unwrap()
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn tokens(current: &str) -> TokenSet {
    TokenSet::single(VerificationToken::parse(current.to_owned()).unwrap())
}

fn account(account_id: &str, jwt: &str, token: &str) -> Account {
    Account {
        summary: AccountSummary {
            account_id: id(account_id),
            address: "https://relay.example/webhook".into(),
            added_at: at("2026-03-01T10:00:00.000Z"),
            subscription: None,
            last_checked_at: None,
            last_reconciled_at: None,
            last_finding: None,
        },
        jwt: Secret::new(jwt.into()),
        tokens: tokens(token),
    }
}

struct Fixture {
    aws: Aws,
    table: String,
    registry: DynamoRegistry,
}

impl Fixture {
    async fn new() -> Self {
        let aws = Aws::moto().await;
        let table = accounts_table(&aws).await;
        let key = stack_key(&aws).await;
        let registry = DynamoRegistry::new(&aws.sdk, table.clone(), Some(key), SCAN_TIMEOUTS);
        Self { aws, table, registry }
    }

    fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.aws.sdk)
    }

    async fn raw_item(&self, account_id: &str) -> HashMap<String, AttributeValue> {
        self.dynamo()
            .get_item()
            .table_name(&self.table)
            .key("accountId", AttributeValue::S(account_id.into()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    }

    async fn put_raw(&self, item: HashMap<String, AttributeValue>) {
        self.dynamo()
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_round_trips_and_is_forgotten() {
    let f = Fixture::new().await;
    let registry = &f.registry;
    // Added out of order: the listing is in account id order.
    registry.add(&account("62000002", JWT_B, TOKEN_B)).await.unwrap();
    registry.add(&account("51000001", JWT_A, TOKEN_A)).await.unwrap();

    let got = registry.get(&id("51000001")).await.unwrap().unwrap();
    assert_eq!(got.summary, account("51000001", JWT_A, TOKEN_A).summary);
    assert_eq!(got.jwt.expose(), JWT_A);
    assert_eq!(got.tokens, tokens(TOKEN_A));
    assert!(registry.get(&id("99")).await.unwrap().is_none());
    assert!(registry.tokens(&id("99")).await.unwrap().is_none());

    let listed = registry.list().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.account_id.as_str()).collect();
    assert_eq!(ids, ["51000001", "62000002"]);
    assert_eq!(listed[1], account("62000002", JWT_B, TOKEN_B).summary);

    // A rotation's tokens, then the webhook path's read of them.
    let rotating = TokenSet {
        previous: Some(VerificationToken::parse(TOKEN_A.into()).unwrap()),
        retiring: vec!["sub-old".into()],
        successor: Some("sub-new".into()),
        ..tokens("rotatedTokenOfA")
    };
    registry.set_tokens(&id("51000001"), &rotating).await.unwrap();
    let check = CheckRecord {
        checked_at: at("2026-03-02T00:00:00.000Z"),
        subscription: Some(SubscriptionRecord {
            id: "sub-new".into(),
            status: "Active".into(),
            expires_at: Some(at("2036-03-01T00:00:00.000Z")),
        }),
        last_finding: Some("Expiring: renewed".into()),
        reconciled_at: Some(at("2026-03-02T00:00:01.000Z")),
    };
    registry.record_check(&id("51000001"), &check).await.unwrap();
    let webhook = registry.tokens(&id("51000001")).await.unwrap().unwrap();
    assert_eq!(webhook.tokens, rotating);
    assert_eq!(webhook.subscription_ids, ["sub-new", "sub-old"]);

    // A later check without a subscription or finding clears them and
    // keeps the last reconciliation.
    registry
        .record_check(
            &id("51000001"),
            &CheckRecord {
                checked_at: at("2026-03-03T00:00:00.000Z"),
                subscription: None,
                last_finding: None,
                reconciled_at: None,
            },
        )
        .await
        .unwrap();
    let summary = registry.get(&id("51000001")).await.unwrap().unwrap().summary;
    assert_eq!(
        summary,
        AccountSummary {
            last_checked_at: Some(at("2026-03-03T00:00:00.000Z")),
            last_reconciled_at: Some(at("2026-03-02T00:00:01.000Z")),
            ..account("51000001", JWT_A, TOKEN_A).summary
        }
    );

    registry.remove(&id("51000001")).await.unwrap();
    assert!(registry.get(&id("51000001")).await.unwrap().is_none());
    // A retried removal is not an error.
    registry.remove(&id("51000001")).await.unwrap();
    let ids: Vec<String> = registry
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.account_id.to_string())
        .collect();
    assert_eq!(ids, ["62000002"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn twice_is_already_registered_and_unknown_is_not_registered() {
    let f = Fixture::new().await;
    f.registry.add(&account("51000001", JWT_A, TOKEN_A)).await.unwrap();
    let again = f.registry.add(&account("51000001", JWT_B, TOKEN_B)).await;
    assert_eq!(again, Err(RegistryError::AlreadyRegistered(id("51000001"))));
    // The first registration stands.
    assert_eq!(
        f.registry.get(&id("51000001")).await.unwrap().unwrap().jwt.expose(),
        JWT_A
    );

    let unknown = id("77");
    assert_eq!(
        f.registry.set_tokens(&unknown, &tokens(TOKEN_B)).await,
        Err(RegistryError::NotRegistered(unknown.clone()))
    );
    let check = CheckRecord {
        checked_at: at("2026-03-02T00:00:00.000Z"),
        subscription: None,
        last_finding: None,
        reconciled_at: None,
    };
    assert_eq!(
        f.registry.record_check(&unknown, &check).await,
        Err(RegistryError::NotRegistered(unknown.clone()))
    );
    // Neither wrote an item.
    assert_eq!(f.registry.list().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_holds_no_plaintext_secret() {
    let f = Fixture::new().await;
    f.registry.add(&account("51000001", JWT_A, TOKEN_A)).await.unwrap();
    let item = f.raw_item("51000001").await;
    for sealed in ["credential", "tokens"] {
        assert!(item[sealed].as_b().is_ok(), "{sealed} is binary");
    }
    for (name, value) in &item {
        let bytes: &[u8] = match value {
            AttributeValue::S(text) => text.as_bytes(),
            AttributeValue::B(blob) => blob.as_ref(),
            other => panic!("{name}: unexpected {other:?}"),
        };
        for secret in [JWT_A, TOKEN_A, "YWNjb3VudC1h", "c2lnbmF0dXJlLWE"] {
            assert!(!contains(bytes, secret), "{name} holds {secret}");
        }
    }
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["accountId", "addedAt", "address", "credential", "tokens"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sealed_value_opens_only_in_its_own_account_and_attribute() {
    let f = Fixture::new().await;
    f.registry.add(&account("51000001", JWT_A, TOKEN_A)).await.unwrap();
    f.registry.add(&account("62000002", JWT_B, TOKEN_B)).await.unwrap();
    let a = f.raw_item("51000001").await;

    // A's tokens pasted into B's item: B's notifications would authenticate with A's token.
    let mut b = f.raw_item("62000002").await;
    b.insert("tokens".into(), a["tokens"].clone());
    f.put_raw(b).await;
    for result in [
        f.registry.tokens(&id("62000002")).await.map(|_| ()),
        f.registry.get(&id("62000002")).await.map(|_| ()),
    ] {
        let Err(RegistryError::Sealing {
            account,
            field,
            action,
            detail,
        }) = result
        else {
            panic!("opened another account's tokens: {result:?}")
        };
        assert_eq!((account.as_str(), field, action), ("62000002", "tokens", "opened"));
        assert!(detail.starts_with("InvalidCiphertextException"), "{detail}");
        assert!(!detail.contains(TOKEN_A), "{detail}");
    }

    // A's credential in A's own tokens attribute: the field is in the context too.
    let mut swapped = a.clone();
    swapped.insert("tokens".into(), a["credential"].clone());
    f.put_raw(swapped).await;
    let opened = f.registry.tokens(&id("51000001")).await;
    assert!(
        matches!(
            &opened,
            Err(RegistryError::Sealing {
                field: "tokens",
                action: "opened",
                ..
            })
        ),
        "{opened:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_listing_never_decrypts() {
    let f = Fixture::new().await;
    f.registry.add(&account("51000001", JWT_A, TOKEN_A)).await.unwrap();
    // An item whose sealed attributes no KMS key opens.
    let mut broken = f.raw_item("51000001").await;
    broken.insert("accountId".into(), AttributeValue::S("62000002".into()));
    broken.insert(
        "credential".into(),
        AttributeValue::B(b"not a ciphertext".to_vec().into()),
    );
    broken.insert("tokens".into(), AttributeValue::B(b"not a ciphertext".to_vec().into()));
    f.put_raw(broken).await;

    let listed = f.registry.list().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.account_id.as_str()).collect();
    assert_eq!(ids, ["51000001", "62000002"]);
    let opened = f.registry.get(&id("62000002")).await;
    assert!(
        matches!(
            &opened,
            Err(RegistryError::Sealing {
                field: "credential" | "tokens",
                action: "opened",
                ..
            })
        ),
        "{opened:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_key_id_it_reads_but_does_not_seal() {
    let f = Fixture::new().await;
    f.registry.add(&account("51000001", JWT_A, TOKEN_A)).await.unwrap();
    // The relay's use: no key id; Decrypt finds the key in the blob.
    let reader = DynamoRegistry::new(&f.aws.sdk, f.table.clone(), None, SCAN_TIMEOUTS);
    let webhook = reader.tokens(&id("51000001")).await.unwrap().unwrap();
    assert_eq!(webhook.tokens, tokens(TOKEN_A));
    assert!(webhook.subscription_ids.is_empty());

    let refused = reader.set_tokens(&id("51000001"), &tokens(TOKEN_B)).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "account 51000001's tokens cannot be sealed: no KMS key to seal with (ACCOUNTS_KEY_ID is not set): this registry only reads"
    );
    assert!(reader.add(&account("62000002", JWT_B, TOKEN_B)).await.is_err());
    assert_eq!(reader.list().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwt_longer_than_kms_seals_is_refused_and_nothing_is_written() {
    let f = Fixture::new().await;
    let long = format!("eyJ.{}.sig", "x".repeat(4096));
    let refused = f.registry.add(&account("51000001", &long, TOKEN_A)).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        "account 51000001's credential cannot be sealed: it is 4104 bytes, and KMS seals at most 4096"
    );
    assert!(f.registry.list().await.unwrap().is_empty());
}
