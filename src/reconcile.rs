//! Reconciliation: subscribers converge to RingCentral's real state after
//! any gap in delivery. RingCentral's list of Contact Center numbers (the
//! truth) is compared with the inventory (what subscribers were told), and
//! every difference is published as an ordinary v1 change with `origin`
//! `reconciliation`, as Debezium's snapshots and Netflix's DBLog merge a
//! table read with the change stream: the newer of the two always wins.
//!
//! - in the truth, absent or deleted in the inventory → `Created`;
//! - in both, a normalized field different → `Updated`;
//! - left the list, and a get by id finds it with another usage type →
//!   `Updated` carrying its current `usageType` (reassigned away);
//! - left the list, and RingCentral no longer has it → `Deleted`, carrying
//!   the inventory's last known fields.
//!
//! A correction's `notificationId` is derived from the number and its state,
//! so a rerun or a second runner produces the same id (FIFO topics drop the
//! repeat); its `occurredAt` is when the list was read, so a webhook
//! notification recorded after that wins.
//!
//! The baseline: the first run on a table (normally the one `subscribe`
//! runs, as the relay becomes responsible for the account) records the
//! numbers the inventory has never heard of quietly, as the starting state;
//! a difference on a number the inventory already holds (told by a webhook)
//! is a missed change, and is published like any other. So no gap before
//! the first reconciliation stays unrepaired.
//!
//! One reconciliation at a time publishes ([`with_lease`]): a run that finds
//! another holding the lease leaves the corrections to it. A snapshot
//! publishes every current number as `Created` with `origin` `snapshot`,
//! for a consumer that joins late.

use crate::change::{Change, Delivery, EventType, NotificationId, NumberState, Origin, SchemaVersion, Timestamp};
use crate::inventory::{Inventory, InventoryError, LeaseTaken, SubscriptionLease, Told};
use crate::parked::PublishFailure;
use crate::ringcentral::{Listing, PhoneNumbersApi, RingCentralError};
use crate::sink::Sink;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Created,
    Updated,
    ReassignedAway,
    Deleted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Updated => "Updated",
            Self::ReassignedAway => "Updated (reassigned away)",
            Self::Deleted => "Deleted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub kind: Kind,
    pub change: Change,
}

/// The inventory's Contact Center numbers that RingCentral's list lacks:
/// deleted, or reassigned away; a get by id tells which. Numbers whose list
/// record did not decode are not concluded to be gone.
pub fn vanished<'a>(truth: &Listing, told: &'a [Told]) -> Vec<&'a Told> {
    let listed: HashSet<&str> = truth
        .numbers
        .iter()
        .map(|n| n.phone_number.id.as_str())
        .chain(truth.unreadable.iter().map(|(id, _)| id.as_str()))
        .collect();
    told.iter()
        .filter(|t| t.is_contact_center() && !listed.contains(t.id().as_str()))
        .collect()
}

/// The differences, one correction per number, in id order.
/// `looked_up`: for each vanished id, the number as RingCentral has it now
/// (`None`: gone).
pub fn diff(
    truth: &Listing,
    told: &[Told],
    looked_up: &BTreeMap<String, Option<NumberState>>,
    observed_at: &Timestamp,
) -> Vec<Correction> {
    let by_id: BTreeMap<&str, &Told> = told.iter().map(|t| (t.id().as_str(), t)).collect();
    let mut corrections = Vec::new();
    for number in &truth.numbers {
        let kind = match by_id.get(number.phone_number.id.as_str()) {
            None => Kind::Created,
            Some(t) if t.deleted() => Kind::Created,
            Some(t) if number.differs_from(&t.change) => Kind::Updated,
            Some(_) => continue,
        };
        corrections.push(correction(kind, number.clone(), Origin::Reconciliation, observed_at));
    }
    for t in vanished(truth, told) {
        let (kind, state) = match looked_up.get(t.id().as_str()) {
            Some(Some(now)) if now.differs_from(&t.change) => (Kind::ReassignedAway, now.clone()),
            // Back in RingCentral with the state subscribers know (a list
            // that raced a change): nothing to tell.
            Some(Some(_)) => continue,
            Some(None) => (
                Kind::Deleted,
                NumberState {
                    account_id: t.change.account_id.clone(),
                    phone_number: t.change.phone_number.clone(),
                    contact_center_provider: t.change.contact_center_provider.clone(),
                },
            ),
            // Not looked up (the lookup failed): concluded nothing.
            None => continue,
        };
        corrections.push(correction(kind, state, Origin::Reconciliation, observed_at));
    }
    corrections.sort_by(|a, b| a.change.phone_number.id.as_str().cmp(b.change.phone_number.id.as_str()));
    corrections
}

fn correction(kind: Kind, state: NumberState, origin: Origin, observed_at: &Timestamp) -> Correction {
    let change_type = match kind {
        Kind::Created => EventType::Created,
        Kind::Updated | Kind::ReassignedAway => EventType::Updated,
        Kind::Deleted => EventType::Deleted,
    };
    let notification_id = correction_id(origin, change_type, &state);
    Correction {
        kind,
        change: Change {
            schema_version: SchemaVersion,
            change_type,
            notification_id,
            occurred_at: observed_at.clone(),
            account_id: state.account_id,
            subscription_id: None,
            owner_id: None,
            phone_number: state.phone_number,
            contact_center_provider: state.contact_center_provider,
        },
    }
}

/// The same number in the same state always gets the same id: SHA-256 of
/// the state, shaped as a UUID (version 8, RFC 9562's custom version), so
/// it meets the relay's uuid rule and FIFO's deduplication id rule.
pub fn correction_id(origin: Origin, change_type: EventType, state: &NumberState) -> NotificationId {
    use sha2::{Digest, Sha256};
    let n = &state.phone_number;
    let provider = state.contact_center_provider.as_ref();
    let fields = [
        Some("cc-number-relay correction v1"),
        Some(origin.as_str()),
        Some(change_type.as_str()),
        Some(n.id.as_str()),
        Some(n.e164.as_str()),
        n.payment_type.as_deref(),
        n.location.as_deref(),
        n.kind.as_deref(),
        n.usage_type.as_deref(),
        n.status.as_deref(),
        provider.and_then(|p| p.id.as_deref()),
        provider.and_then(|p| p.name.as_deref()),
    ];
    let mut hash = Sha256::new();
    for field in fields {
        // Length-prefixed, and absent apart from empty, so no two states collide by concatenation.
        match field {
            Some(text) => {
                hash.update((text.len() as u64).to_be_bytes());
                hash.update(text.as_bytes());
            }
            None => hash.update(u64::MAX.to_be_bytes()),
        }
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    // 36 visible ASCII characters: always valid.
    NotificationId::parse(uuid).unwrap_or_else(|_| unreachable!("a UUID is a valid notification id"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Publish the differences (the first run on a table records the baseline).
    Correct,
    /// Publish every current number as `Created`, origin `snapshot`; the inventory is left alone.
    Snapshot,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    RingCentral(#[from] RingCentralError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
}

/// What a run did, for the summary line, the finding and the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub dry_run: bool,
    pub snapshot: bool,
    /// This run took the baseline (the table had none).
    pub baseline_taken: bool,
    /// Numbers the inventory had never heard of, recorded quietly as the
    /// starting state by the run that took the baseline.
    pub baselined: usize,
    /// Another reconciliation held the lease (who, until when): this run
    /// published nothing and left the corrections to it.
    pub deferred_to: Option<String>,
    pub pages: u32,
    pub numbers: usize,
    pub unreadable: usize,
    pub looked_up: usize,
    /// Published (in a dry run: would be), by kind.
    pub published: BTreeMap<Kind, usize>,
    /// Not published: the inventory already held a newer state.
    pub superseded: usize,
    /// Publish failures; the next run tries again.
    pub failed: Vec<PublishFailure>,
    /// Inventory writes that failed after a publish; the next run repairs them.
    pub unrecorded: usize,
}

impl Report {
    pub fn published_total(&self) -> usize {
        self.published.values().sum()
    }

    pub fn line(&self) -> String {
        let what = if self.snapshot { "snapshot" } else { "reconcile" };
        let mode = if self.dry_run { " (dry run)" } else { "" };
        let counts: Vec<String> = self
            .published
            .iter()
            .map(|(k, n)| format!("{}: {n}", k.as_str()))
            .collect();
        let counts = if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        };
        if let Some(holder) = &self.deferred_to {
            return format!("{what} summary{mode}: deferred, published nothing: {holder} is reconciling and publishes the corrections");
        }
        let verb = if self.dry_run { "would publish" } else { "published" };
        let total = self.published_total();
        let mut line = format!(
            "{what} summary{mode}: {} numbers in {} pages, {verb} {total}{counts}, superseded by newer notifications {}, failed {}",
            self.numbers,
            self.pages,
            self.superseded,
            self.failed.len()
        );
        if self.baseline_taken {
            line.push_str(&format!(
                ", {} baseline (numbers never told before, recorded quietly: {})",
                if self.dry_run { "would take the" } else { "took the" },
                self.baselined
            ));
        }
        if self.unreadable > 0 {
            line.push_str(&format!(
                ", unreadable records {} (nothing concluded about them)",
                self.unreadable
            ));
        }
        if self.unrecorded > 0 {
            line.push_str(&format!(", not recorded in the inventory {}", self.unrecorded));
        }
        line
    }
}

/// What a run tells as it goes: a progress line per page, a line per correction.
pub enum Progress<'a> {
    Page { page: u32, numbers: usize },
    Correction(&'a Correction),
}

pub struct Reconciler<'a, A, I, S> {
    pub api: &'a A,
    pub inventory: &'a I,
    /// The usual topics, a late consumer's own target, or (dry run) a recording sink.
    pub sink: &'a S,
    pub mode: Mode,
    /// Publish into the given (recording) sink, write nothing.
    pub dry_run: bool,
}

impl<A: PhoneNumbersApi, I: Inventory, S: Sink> Reconciler<'_, A, I, S> {
    /// `now` is read once, just before the list: the corrections' `occurredAt`.
    pub async fn run(
        &self,
        now: time::OffsetDateTime,
        mut progress: impl FnMut(Progress<'_>),
    ) -> Result<Report, ReconcileError> {
        let observed_at = Timestamp::at(now);
        let listing = self
            .api
            .contact_center_numbers(&mut |page, numbers| progress(Progress::Page { page, numbers }))?;
        let mut report = Report {
            dry_run: self.dry_run,
            snapshot: self.mode == Mode::Snapshot,
            pages: listing.pages,
            numbers: listing.numbers.len(),
            unreadable: listing.unreadable.len(),
            ..Report::default()
        };
        if self.mode == Mode::Snapshot {
            for number in &listing.numbers {
                let c = correction(Kind::Created, number.clone(), Origin::Snapshot, &observed_at);
                progress(Progress::Correction(&c));
                self.publish(&c, Origin::Snapshot, &mut report, false).await;
            }
            return Ok(report);
        }
        let told = self.inventory.all().await?;
        let mut looked_up = BTreeMap::new();
        for t in vanished(&listing, &told) {
            looked_up.insert(t.id().as_str().to_owned(), self.api.number(t.id())?);
        }
        report.looked_up = looked_up.len();
        let corrections = diff(&listing, &told, &looked_up, &observed_at);
        report.baseline_taken = self.inventory.baseline().await?.is_none();
        let known: HashSet<&str> = told.iter().map(|t| t.id().as_str()).collect();
        for c in &corrections {
            if report.baseline_taken && !known.contains(c.change.phone_number.id.as_str()) {
                // Never told to anyone: the starting state, not a missed
                // change. A number the inventory holds was told by a
                // webhook, so its difference is a missed change: published.
                report.baselined += 1;
                if !self.dry_run {
                    self.record(c, &mut report).await;
                }
                continue;
            }
            // A notification recorded since the list was read is newer: it wins.
            let held = self.inventory.last_told(&c.change.phone_number.id).await?;
            if held.is_some_and(|h| h.change.occurred_at.instant() >= observed_at.instant()) {
                report.superseded += 1;
                continue;
            }
            progress(Progress::Correction(c));
            self.publish(c, Origin::Reconciliation, &mut report, true).await;
        }
        if report.baseline_taken && !self.dry_run {
            self.inventory.mark_baseline(&observed_at).await?;
        }
        Ok(report)
    }

    async fn publish(&self, c: &Correction, origin: Origin, report: &mut Report, record: bool) {
        match self.sink.publish(&c.change, Delivery::fresh(origin)).await {
            Ok(_) => {
                *report.published.entry(c.kind).or_default() += 1;
                if record && !self.dry_run {
                    self.record(c, report).await;
                }
            }
            Err(failure) => report.failed.push(failure),
        }
    }

    async fn record(&self, c: &Correction, report: &mut Report) {
        let told = Told {
            change: c.change.clone(),
            origin: Origin::Reconciliation,
        };
        if self.inventory.record(&told).await.is_err() {
            report.unrecorded += 1;
        }
    }
}

/// Runs `reconciliation` under the reconciliation lease, so that two runs
/// at once (the guardian's run that healed, the reconcile schedule in the
/// same minute) do not both publish: the second finds the lease held and
/// publishes nothing, leaving the corrections to the first. Without an
/// inventory there is no lease; when the table fails, the run goes ahead
/// (the same correction twice is dropped by subscribers' ledgers, a missed
/// one is not repaired).
pub async fn with_lease<L, F>(
    lease: &L,
    now: time::OffsetDateTime,
    hold_for: std::time::Duration,
    reconciliation: F,
) -> Result<Report, ReconcileError>
where
    L: SubscriptionLease,
    F: std::future::Future<Output = Result<Report, ReconcileError>>,
{
    let taken = match lease.take(now, now + hold_for).await {
        Ok(LeaseTaken::Held { holder, until }) => {
            return Ok(Report {
                deferred_to: Some(format!("{holder} (until {})", Timestamp::at(until).as_str())),
                ..Report::default()
            })
        }
        Ok(LeaseTaken::Taken) => true,
        Ok(LeaseTaken::Unguarded) => false,
        Err(error) => {
            tracing::warn!("cannot take the reconciliation lease, reconciling without it: {error}");
            false
        }
    };
    let report = reconciliation.await;
    if taken {
        if let Err(error) = lease.release().await {
            tracing::warn!("cannot give the reconciliation lease back (it expires by itself): {error}");
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{ContactCenterProvider, PhoneNumber, PhoneNumberId, E164};
    use crate::inventory::memory::MemoryInventory;
    use crate::notification::DecodeError;
    use crate::sink::recording::RecordingSink;
    use std::cell::RefCell;

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
    async fn run(
        api: &FakeNumbers,
        inventory: &MemoryInventory,
        sink: &RecordingSink,
        mode: Mode,
        dry_run: bool,
    ) -> Report {
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
    async fn told_by_webhook(inventory: &MemoryInventory, state: NumberState, at: &str, uuid: &str) {
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
}
