//! Many accounts in one inventory: each reconciles its own numbers, under
//! its own baseline and lease, and a number that moves between two is told
//! `Deleted` for the one it left and `Created` for the one it joined, once.

use super::*;
use crate::change::AccountId;
use crate::inventory::memory::MemoryView;
use crate::inventory::{Recorded, Scope};
use crate::registry::Tenant;
use std::collections::BTreeSet;

const A: &str = "111";
const B: &str = "222";

fn account(id: &str) -> AccountId {
    AccountId::parse(id).unwrap()
}

fn registered<'a>(store: &'a MemoryInventory, id: &str) -> MemoryView<'a> {
    store.view(Scope::new(Tenant::Registered(account(id)), BTreeSet::new()))
}

/// The default account's view, with A and B registered.
fn default_of(store: &MemoryInventory) -> MemoryView<'_> {
    store.view(Scope::new(Tenant::Default, BTreeSet::from([account(A), account(B)])))
}

/// A Contact Center number as `account`'s list or webhook has it.
fn cc_of(id: &str, e164: &str, account: Option<&str>) -> NumberState {
    NumberState {
        account_id: account.map(self::account),
        ..cc(id, e164)
    }
}

/// What was published: type, number, account.
fn told_for(sink: &RecordingSink) -> Vec<(EventType, String, Option<String>)> {
    sink.published()
        .iter()
        .map(|c| {
            let account = c.account_id.as_ref().map(|a| a.to_string());
            (c.change_type, c.phone_number.id.to_string(), account)
        })
        .collect()
}

fn who(account: &str) -> Option<String> {
    Some(account.to_owned())
}

async fn baseline_taken(inventory: &impl Inventory) {
    let long_ago = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    inventory.mark_baseline(&long_ago).await.unwrap();
}

#[tokio::test]
async fn a_registered_accounts_run_corrects_only_its_numbers_as_its_own() {
    let store = MemoryInventory::default();
    let (a, b) = (registered(&store, A), registered(&store, B));
    baseline_taken(&a).await;
    told_by_webhook(
        &store,
        cc_of("10", "+15550010", None),
        "2026-11-28T09:00:00Z",
        "uuid-10",
    )
    .await;
    told_by_webhook(&b, cc_of("20", "+15550020", Some(B)), "2026-11-28T09:00:00Z", "uuid-20").await;
    told_by_webhook(&a, cc_of("30", "+15550030", Some(A)), "2026-11-28T09:00:00Z", "uuid-30").await;
    // A's list: 30 changed, 31 new; its resource uris name no account.
    let api = FakeNumbers::default();
    api.listed
        .replace(vec![cc_of("30", "+15553333", None), cc_of("31", "+15550031", None)]);
    let sink = RecordingSink::default();
    let report = run(&api, &a, &sink, Mode::Correct, false).await;
    assert_eq!(
        told_for(&sink),
        [
            (EventType::Updated, "30".into(), who(A)),
            (EventType::Created, "31".into(), who(A))
        ]
    );
    assert!(
        api.lookups.borrow().is_empty(),
        "the others' numbers are not A's to miss"
    );
    assert_eq!((report.baseline_taken, report.ported), (false, 0));
    assert_eq!(store.get("20").unwrap().change.notification_id.as_str(), "uuid-20");
    assert_eq!(store.get("10").unwrap().change.notification_id.as_str(), "uuid-10");
    assert_eq!(
        store.get("31").unwrap().change.account_id,
        Some(account(A)),
        "recorded as A's"
    );
}

#[tokio::test]
async fn each_account_takes_its_own_baseline() {
    let store = MemoryInventory::default();
    let (a, b) = (registered(&store, A), registered(&store, B));
    baseline_taken(&store).await;
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("30", "+15550030"), cc("31", "+15550031")]);
    let sink = RecordingSink::default();
    let report = run(&api, &a, &sink, Mode::Correct, false).await;
    assert_eq!((report.baseline_taken, report.baselined), (true, 2));
    assert!(sink.published().is_empty(), "A's starting state, told quietly");
    assert_eq!(
        a.baseline().await.unwrap().unwrap().as_str(),
        "2026-11-28T10:00:00.000Z"
    );
    assert_eq!(b.baseline().await.unwrap(), None);

    api.listed.replace(vec![cc("40", "+15550040")]);
    let report = run(&api, &b, &sink, Mode::Correct, false).await;
    assert_eq!((report.baseline_taken, report.baselined), (true, 1));
    assert!(sink.published().is_empty());
    assert_eq!(
        store.baseline().await.unwrap().unwrap().as_str(),
        "2026-01-01T00:00:00Z",
        "the default account's baseline is its own"
    );
}

#[tokio::test]
async fn each_accounts_reconciliation_lease_is_its_own() {
    let store = MemoryInventory::default();
    let (a, b) = (registered(&store, A), registered(&store, B));
    let now = at("2026-11-28T10:00:00Z");
    let hold = std::time::Duration::from_secs(300);
    let until = now + time::Duration::minutes(5);
    assert_eq!(
        b.reconcile_lease("b's run").take(now, until).await.unwrap(),
        LeaseTaken::Taken
    );
    assert_eq!(
        store.lease("default's").take(now, until).await.unwrap(),
        LeaseTaken::Taken
    );
    let ran = with_lease(&a.reconcile_lease("a's run"), now, hold, async {
        Ok(Report {
            numbers: 7,
            ..Report::default()
        })
    })
    .await
    .unwrap();
    assert_eq!(
        (ran.numbers, ran.deferred_to),
        (7, None),
        "B's and the default's leases are not A's"
    );
    assert_eq!(
        a.reconcile_lease("another").take(now, until).await.unwrap(),
        LeaseTaken::Taken
    );
    let deferred = with_lease(&a.reconcile_lease("a's run"), now, hold, async {
        Ok(Report::default())
    })
    .await
    .unwrap();
    assert_eq!(
        deferred.deferred_to.as_deref(),
        Some("another (until 2026-11-28T10:05:00.000Z)")
    );
}

/// B's subscribers were told 20 is one of B's numbers; then it moved to A.
async fn told_as_bs(store: &MemoryInventory) {
    let b = registered(store, B);
    baseline_taken(&b).await;
    told_by_webhook(&b, cc_of("20", "+15550020", Some(B)), "2026-11-28T09:00:00Z", "uuid-20").await;
}

#[tokio::test]
async fn a_number_that_moved_to_another_account_is_told_deleted_there_then_created_here_once() {
    let store = MemoryInventory::default();
    told_as_bs(&store).await;
    let (a, b) = (registered(&store, A), registered(&store, B));
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("20", "+15550020")]);
    let sink = RecordingSink::default();
    // A's first run: its baseline is quiet only about numbers never told.
    let report = run(&api, &a, &sink, Mode::Correct, false).await;
    assert_eq!(
        told_for(&sink),
        [
            (EventType::Deleted, "20".into(), who(B)),
            (EventType::Created, "20".into(), who(A))
        ]
    );
    let when: Vec<String> = sink.published().iter().map(|c| c.occurred_at.to_string()).collect();
    assert_eq!(when, ["2026-11-28T09:59:59.999Z", "2026-11-28T10:00:00.000Z"]);
    assert_eq!((report.baseline_taken, report.baselined, report.ported), (true, 0, 1));
    assert!(
        report.line().contains("published 2 (Created: 1, Deleted: 1)"),
        "{}",
        report.line()
    );
    assert!(
        report.line().ends_with("ported from another account 1"),
        "{}",
        report.line()
    );
    let now = store.get("20").unwrap();
    assert_eq!(
        (now.change.change_type, now.change.account_id),
        (EventType::Created, Some(account(A)))
    );

    // Neither is told again: not by A, not by B, whose list lacks it now.
    let again = RecordingSink::default();
    assert_eq!(run(&api, &a, &again, Mode::Correct, false).await.published_total(), 0);
    let bs = FakeNumbers::default();
    assert_eq!(run(&bs, &b, &again, Mode::Correct, false).await.published_total(), 0);
    assert!(again.published().is_empty());
    assert!(bs.lookups.borrow().is_empty(), "no longer among B's numbers");
}

#[tokio::test]
async fn a_move_whose_deleted_was_not_told_is_tried_again_whole() {
    let store = MemoryInventory::default();
    told_as_bs(&store).await;
    let a = registered(&store, A);
    baseline_taken(&a).await;
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("20", "+15550020")]);
    let down = RecordingSink::default().failing_publish(crate::parked::PublishFailure {
        topic: "deleted".into(),
        code: "Throttling".into(),
        message: "slow down".into(),
        request_id: None,
    });
    let report = run(&api, &a, &down, Mode::Correct, false).await;
    assert_eq!((report.failed.len(), report.ported), (1, 0), "the Created is not tried");
    assert_eq!(store.get("20").unwrap().change.account_id, Some(account(B)));
    let sink = RecordingSink::default();
    run(&api, &a, &sink, Mode::Correct, false).await;
    assert_eq!(
        told_for(&sink),
        [
            (EventType::Deleted, "20".into(), who(B)),
            (EventType::Created, "20".into(), who(A))
        ]
    );
}

#[tokio::test]
async fn the_default_account_leaves_registered_accounts_numbers_alone_and_takes_one_that_moved() {
    let store = MemoryInventory::default();
    told_as_bs(&store).await;
    let a = registered(&store, A);
    told_by_webhook(&a, cc_of("30", "+15550030", Some(A)), "2026-11-28T09:00:00Z", "uuid-30").await;
    let default = default_of(&store);
    baseline_taken(&default).await;
    // The default account lists neither 20 nor 30: they are not its to delete.
    let api = FakeNumbers::default();
    let sink = RecordingSink::default();
    assert_eq!(
        run(&api, &default, &sink, Mode::Correct, false).await.published_total(),
        0
    );
    assert!(api.lookups.borrow().is_empty());
    // 30 moves to the default account: its resource uri names the default account.
    api.listed.replace(vec![cc_of("30", "+15550030", Some("999"))]);
    let report = run(&api, &default, &sink, Mode::Correct, false).await;
    assert_eq!(
        told_for(&sink),
        [
            (EventType::Deleted, "30".into(), who(A)),
            (EventType::Created, "30".into(), who("999"))
        ]
    );
    assert_eq!(report.ported, 1);
}

/// A's items as an index a moment behind the table reads them.
struct Behind<'a> {
    table: MemoryView<'a>,
    index: Vec<Told>,
}

impl Inventory for Behind<'_> {
    fn scope(&self) -> &Scope {
        self.table.scope()
    }
    async fn last_told(&self, id: &PhoneNumberId) -> Result<Option<Told>, InventoryError> {
        self.table.last_told(id).await
    }
    async fn record(&self, told: &Told) -> Result<Recorded, InventoryError> {
        self.table.record(told).await
    }
    async fn all(&self) -> Result<Vec<Told>, InventoryError> {
        Ok(self.index.clone())
    }
    async fn baseline(&self) -> Result<Option<Timestamp>, InventoryError> {
        self.table.baseline().await
    }
    async fn mark_baseline(&self, at: &Timestamp) -> Result<(), InventoryError> {
        self.table.mark_baseline(at).await
    }
}

#[tokio::test]
async fn a_registered_account_decides_on_the_table_not_on_an_index_behind_it() {
    let store = MemoryInventory::default();
    let a = registered(&store, A);
    baseline_taken(&a).await;
    // The index still has 31 as a Contact Center number and lacks 30; the
    // table holds 30 (told by a webhook just now) and 31 told deleted.
    told_by_webhook(&a, cc_of("31", "+15550031", Some(A)), "2026-11-28T09:00:00Z", "uuid-31").await;
    let index = a.all().await.unwrap();
    let mut deleted = store.get("31").unwrap();
    deleted.change.change_type = EventType::Deleted;
    deleted.change.occurred_at = Timestamp::parse("2026-11-28T09:30:00Z").unwrap();
    store.record(&deleted).await.unwrap();
    told_by_webhook(&a, cc_of("30", "+15550030", Some(A)), "2026-11-28T09:59:00Z", "uuid-30").await;
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("30", "+15550030")]);
    let behind = Behind { table: a, index };
    let sink = RecordingSink::default();
    let report = run(&api, &behind, &sink, Mode::Correct, false).await;
    assert!(sink.published().is_empty(), "{:?}", told_for(&sink));
    assert_eq!((report.published_total(), report.looked_up), (0, 1));
}
