use super::diff::correction;
use super::*;
use crate::change::{ContactCenterProvider, EventType, NotificationId, NumberState, PhoneNumber, PhoneNumberId, E164};
use crate::inventory::memory::MemoryInventory;
use crate::inventory::Told;
use crate::notification::DecodeError;
use crate::ringcentral::Listing;
use crate::sink::recording::RecordingSink;
use std::cell::RefCell;

mod accounts;

fn state(id: &str, e164: &str, usage: &str) -> NumberState {
    NumberState {
        account_id: None,
        phone_number: PhoneNumber {
            id: PhoneNumberId::parse(id).unwrap(),
            e164: E164::parse(e164).unwrap(),
            uri: None,
            payment_type: Some("Local".into()),
            location: None,
            kind: Some("VoiceFax".into()),
            usage_type: Some(usage.into()),
            status: Some("Normal".into()),
        },
        contact_center_provider: Some(ContactCenterProvider {
            id: Some("1".into()),
            name: Some("P".into()),
        }),
    }
}

fn cc(id: &str, e164: &str) -> NumberState {
    state(id, e164, "ContactCenterNumber")
}

/// RingCentral's phone-number resource in memory, counting calls.
#[derive(Default)]
struct FakeNumbers {
    listed: RefCell<Vec<NumberState>>,
    elsewhere: RefCell<BTreeMap<String, NumberState>>,
    unreadable: Vec<String>,
    lookups: RefCell<Vec<String>>,
}

impl PhoneNumbersApi for FakeNumbers {
    fn contact_center_numbers(&self, on_page: &mut dyn FnMut(u32, usize)) -> Result<Listing, RingCentralError> {
        let numbers = self.listed.borrow().clone();
        on_page(1, numbers.len());
        Ok(Listing {
            numbers,
            unreadable: self
                .unreadable
                .iter()
                .map(|id| (id.clone(), DecodeError::AccountMismatch))
                .collect(),
            pages: 1,
        })
    }
    fn number(&self, id: &PhoneNumberId) -> Result<Option<NumberState>, RingCentralError> {
        self.lookups.borrow_mut().push(id.to_string());
        Ok(self.elsewhere.borrow().get(id.as_str()).cloned())
    }
}

fn at(text: &str) -> time::OffsetDateTime {
    Timestamp::parse(text).unwrap().instant()
}

/// Each run a minute after the one before, as a schedule runs them.
async fn run(api: &FakeNumbers, inventory: &impl Inventory, sink: &RecordingSink, mode: Mode, dry_run: bool) -> Report {
    thread_local!(static RUNS: std::cell::Cell<i64> = const { std::cell::Cell::new(0) });
    let minutes = RUNS.with(|r| r.replace(r.get() + 1));
    let reconciler = Reconciler {
        api,
        inventory,
        sink,
        mode,
        dry_run,
    };
    let now = at("2026-11-28T10:00:00Z") + time::Duration::minutes(minutes);
    reconciler.run(now, |_| {}).await.unwrap()
}

fn published(sink: &RecordingSink) -> Vec<(EventType, String, Option<String>)> {
    sink.published()
        .iter()
        .map(|c| {
            (
                c.change_type,
                c.phone_number.id.to_string(),
                c.phone_number.usage_type.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_first_run_on_an_empty_inventory_records_the_baseline_and_publishes_nothing() {
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("1", "+15550001"), cc("2", "+15550002")]);
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let report = run(&api, &inventory, &sink, Mode::Correct, false).await;
    assert!(report.baseline_taken);
    assert!(sink.published().is_empty());
    assert_eq!(
        report.line(),
        "reconcile summary: 2 numbers in 1 pages, published 0, superseded by newer notifications 0, failed 0, \
         took the baseline (numbers never told before, recorded quietly: 2)"
    );
    assert_eq!(inventory.get("1").unwrap().origin, Origin::Reconciliation);
    assert!(inventory.baseline().await.unwrap().is_some());
    let again = run(&api, &inventory, &sink, Mode::Correct, false).await;
    assert!(!again.baseline_taken && again.published_total() == 0, "{again:?}");
}

#[tokio::test]
async fn after_the_baseline_each_kind_of_difference_is_one_correction() {
    let api = FakeNumbers::default();
    api.listed.replace(vec![
        cc("1", "+15550001"),
        cc("2", "+15550002"),
        cc("3", "+15550003"),
        cc("4", "+15550004"),
    ]);
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    run(&api, &inventory, &sink, Mode::Correct, false).await;

    // RingCentral changes with no notification: 5 created, 2 deleted, 3 reassigned away, 4 changed.
    api.listed
        .replace(vec![cc("1", "+15550001"), cc("4", "+15559999"), cc("5", "+15550005")]);
    api.elsewhere
        .borrow_mut()
        .insert("3".into(), state("3", "+15550003", "MainCompanyNumber"));
    let report = run(&api, &inventory, &sink, Mode::Correct, false).await;
    assert_eq!(
        published(&sink),
        [
            (EventType::Deleted, "2".into(), Some("ContactCenterNumber".into())),
            (EventType::Updated, "3".into(), Some("MainCompanyNumber".into())),
            (EventType::Updated, "4".into(), Some("ContactCenterNumber".into())),
            (EventType::Created, "5".into(), Some("ContactCenterNumber".into())),
        ]
    );
    assert_eq!(*api.lookups.borrow(), ["2", "3"], "only vanished numbers are looked up");
    assert_eq!(report.published.get(&Kind::ReassignedAway), Some(&1));
    for (change, delivery) in sink.deliveries() {
        assert_eq!(delivery, Delivery::fresh(Origin::Reconciliation));
        assert_eq!(change.occurred_at.as_str(), "2026-11-28T10:01:00.000Z");
        assert!(change.subscription_id.is_none() && change.owner_id.is_none());
    }
    let deleted = &sink.published()[0];
    assert_eq!(deleted.phone_number.e164.as_str(), "+15550002", "the last known fields");

    let sink2 = RecordingSink::default();
    let again = run(&api, &inventory, &sink2, Mode::Correct, false).await;
    assert_eq!(again.published_total(), 0, "{again:?}");
    assert!(sink2.published().is_empty());
    assert_eq!(
        *api.lookups.borrow(),
        ["2", "3"],
        "reassigned and deleted numbers are out of the set"
    );
}

#[tokio::test]
async fn a_notification_recorded_after_the_list_was_read_wins() {
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("1", "+15550001")]);
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    inventory
        .mark_baseline(&Timestamp::parse("2026-01-01T00:00:00Z").unwrap())
        .await
        .unwrap();
    let mut newer = correction(
        Kind::Created,
        cc("1", "+15551111"),
        Origin::Webhook,
        &Timestamp::parse("2026-11-28T11:00:00Z").unwrap(),
    )
    .change;
    newer.notification_id = NotificationId::parse("webhook-uuid").unwrap();
    inventory
        .record(&Told {
            change: newer,
            origin: Origin::Webhook,
        })
        .await
        .unwrap();
    let report = run(&api, &inventory, &sink, Mode::Correct, false).await;
    assert_eq!((report.superseded, report.published_total()), (1, 0));
    assert_eq!(
        inventory.get("1").unwrap().change.notification_id.as_str(),
        "webhook-uuid"
    );
}

#[tokio::test]
async fn a_snapshot_publishes_every_number_and_leaves_the_inventory_alone() {
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("1", "+15550001"), cc("2", "+15550002")]);
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let report = run(&api, &inventory, &sink, Mode::Snapshot, false).await;
    assert_eq!(report.published.get(&Kind::Created), Some(&2));
    assert!(sink
        .deliveries()
        .iter()
        .all(|(c, d)| c.change_type == EventType::Created && *d == Delivery::fresh(Origin::Snapshot)));
    assert!(inventory.get("1").is_none() && inventory.baseline().await.unwrap().is_none());
}

/// A number told by a webhook, as the relay records it.
async fn told_by_webhook(inventory: &impl Inventory, state: NumberState, at: &str, uuid: &str) {
    let mut change = correction(Kind::Created, state, Origin::Webhook, &Timestamp::parse(at).unwrap()).change;
    change.notification_id = NotificationId::parse(uuid).unwrap();
    inventory
        .record(&Told {
            change,
            origin: Origin::Webhook,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_first_run_publishes_what_webhooks_told_wrong_and_is_quiet_about_the_rest() {
    let api = FakeNumbers::default();
    // Told by webhooks before any baseline: 1 (still right), 2 (its
    // E.164 changed since), 3 (deleted since), 4 (reassigned since).
    let inventory = MemoryInventory::default();
    for (id, e164) in [
        ("1", "+15550001"),
        ("2", "+15550002"),
        ("3", "+15550003"),
        ("4", "+15550004"),
    ] {
        told_by_webhook(&inventory, cc(id, e164), "2026-11-28T09:00:00Z", &format!("uuid-{id}")).await;
    }
    api.listed.replace(vec![
        cc("1", "+15550001"),
        cc("2", "+15552222"),
        // Never told: the starting state.
        cc("8", "+15550008"),
        cc("9", "+15550009"),
    ]);
    api.elsewhere
        .borrow_mut()
        .insert("4".into(), state("4", "+15550004", "DirectNumber"));
    let sink = RecordingSink::default();
    let report = run(&api, &inventory, &sink, Mode::Correct, false).await;
    assert!(report.baseline_taken);
    assert_eq!(
        published(&sink),
        [
            (EventType::Updated, "2".into(), Some("ContactCenterNumber".into())),
            (EventType::Deleted, "3".into(), Some("ContactCenterNumber".into())),
            (EventType::Updated, "4".into(), Some("DirectNumber".into())),
        ],
        "missed changes are corrections even before the baseline"
    );
    assert_eq!(report.baselined, 2);
    assert_eq!(
        inventory.get("8").unwrap().origin,
        Origin::Reconciliation,
        "recorded quietly"
    );
    assert!(inventory.baseline().await.unwrap().is_some());
    assert!(
        report
            .line()
            .contains("published 3 (Updated: 1, Updated (reassigned away): 1, Deleted: 1)"),
        "{}",
        report.line()
    );
}

#[tokio::test]
async fn one_reconciliation_at_a_time_publishes() {
    let leases = MemoryInventory::default();
    let now = at("2026-11-28T10:00:00Z");
    let hold = std::time::Duration::from_secs(300);
    let ran = std::cell::Cell::new(0);
    let reconciliation = || async {
        ran.set(ran.get() + 1);
        Ok(Report::default())
    };
    // Another run holds it: this one publishes nothing and says whose it is.
    assert_eq!(
        leases.lease("guardian 1").take(now, now + hold).await.unwrap(),
        LeaseTaken::Taken
    );
    let deferred = with_lease(&leases.lease("schedule 2"), now, hold, reconciliation())
        .await
        .unwrap();
    assert_eq!(ran.get(), 0);
    assert_eq!(
        deferred.line(),
        "reconcile summary: deferred, published nothing: guardian 1 (until 2026-11-28T10:05:00.000Z) is reconciling and publishes the corrections"
    );
    // Given back: the next run takes it, runs, and gives it back.
    leases.lease("guardian 1").release().await.unwrap();
    let report = with_lease(&leases.lease("schedule 2"), now, hold, reconciliation())
        .await
        .unwrap();
    assert_eq!((ran.get(), report.deferred_to), (1, None));
    assert_eq!(
        leases.lease_holder().unwrap().1,
        time::OffsetDateTime::UNIX_EPOCH,
        "released"
    );
    // No inventory, no lease: it runs.
    let unguarded: Option<crate::inventory::memory::MemoryLease<'_>> = None;
    with_lease(&unguarded, now, hold, reconciliation()).await.unwrap();
    assert_eq!(ran.get(), 2);
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("1", "+15550001")]);
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let report = run(&api, &inventory, &sink, Mode::Correct, true).await;
    assert!(
        report
            .line()
            .contains("would take the baseline (numbers never told before, recorded quietly: 1)"),
        "{}",
        report.line()
    );
    assert!(inventory.get("1").is_none() && inventory.baseline().await.unwrap().is_none());
}

#[tokio::test]
async fn an_unreadable_record_is_not_taken_for_a_deletion() {
    let api = FakeNumbers::default();
    api.listed.replace(vec![cc("1", "+15550001"), cc("2", "+15550002")]);
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    run(&api, &inventory, &sink, Mode::Correct, false).await;
    let api = FakeNumbers {
        unreadable: vec!["2".into()],
        ..FakeNumbers::default()
    };
    api.listed.replace(vec![cc("1", "+15550001")]);
    let report = run(&api, &inventory, &sink, Mode::Correct, false).await;
    assert_eq!((report.published_total(), report.unreadable), (0, 1));
    assert!(api.lookups.borrow().is_empty());
}

#[test]
fn correction_ids_follow_the_state_and_nothing_else() {
    let a = correction_id(Origin::Reconciliation, EventType::Updated, &cc("1", "+15550001"));
    assert_eq!(
        a,
        correction_id(Origin::Reconciliation, EventType::Updated, &cc("1", "+15550001"))
    );
    assert_ne!(
        a,
        correction_id(Origin::Reconciliation, EventType::Updated, &cc("1", "+15550002"))
    );
    assert_ne!(
        a,
        correction_id(Origin::Reconciliation, EventType::Created, &cc("1", "+15550001"))
    );
    assert_ne!(
        a,
        correction_id(Origin::Snapshot, EventType::Updated, &cc("1", "+15550001"))
    );
    let text = a.as_str();
    assert_eq!(text.len(), 36);
    assert_eq!(&text[14..15], "8", "version 8");
    assert!(text.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
}
