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
//! Each account reconciles on its own ([`Inventory::scope`]): its own
//! RingCentral list (the caller's client speaks as that account), its own
//! items, its own baseline. A number that moves between two accounts the
//! stack serves is told to subscribers as `Deleted` for the account it left
//! and `Created` for the one it joined, once each: the account that lists it
//! finds it among no items of its own, but held for the other (the
//! inventory is keyed by number id across accounts), and publishes both.
//!
//! One reconciliation at a time publishes ([`with_lease`]): a run that finds
//! another holding the lease leaves the corrections to it. A snapshot
//! publishes every current number as `Created` with `origin` `snapshot`,
//! for a consumer that joins late.

mod diff;
mod report;
#[cfg(test)]
mod tests;

pub use diff::{correction_id, diff, vanished, Correction, Kind};
pub use report::Report;

use crate::change::{Delivery, NumberState, Origin, Timestamp};
use crate::inventory::{Inventory, InventoryError, LeaseTaken, SubscriptionLease, Told, WHOLE_TABLE};
use crate::registry::Tenant;
use crate::ringcentral::{Listing, PhoneNumbersApi, RingCentralError};
use crate::sink::Sink;
use diff::{correction, last_known};
use std::collections::{BTreeMap, HashSet};

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
        let mut listing = self
            .api
            .contact_center_numbers(&mut |page, numbers| progress(Progress::Page { page, numbers }))?;
        for number in &mut listing.numbers {
            self.claim(number);
        }
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
            let mut now = self.api.number(t.id())?;
            now.iter_mut().for_each(|n| self.claim(n));
            looked_up.insert(t.id().as_str().to_owned(), now);
        }
        report.looked_up = looked_up.len();
        let corrections = diff(&listing, &told, &looked_up, &observed_at);
        report.baseline_taken = self.inventory.baseline().await?.is_none();
        let scope = self.inventory.scope();
        // Read consistently and whole, as before there were many accounts:
        // a number not in it was never told to anyone, without asking.
        let whole_table = *scope == WHOLE_TABLE;
        let known: HashSet<&str> = told.iter().map(|t| t.id().as_str()).collect();
        let listed: BTreeMap<&str, &NumberState> = listing
            .numbers
            .iter()
            .map(|n| (n.phone_number.id.as_str(), n))
            .collect();
        for c in &corrections {
            let id = &c.change.phone_number.id;
            if report.baseline_taken && whole_table && !known.contains(id.as_str()) {
                self.quietly(c, &mut report).await;
                continue;
            }
            let held = self.inventory.last_told(id).await?;
            // A notification recorded since the list was read is newer: it wins.
            if held
                .as_ref()
                .is_some_and(|h| h.change.occurred_at.instant() >= observed_at.instant())
            {
                report.superseded += 1;
                continue;
            }
            match held {
                None if report.baseline_taken => self.quietly(c, &mut report).await,
                None => self.tell(c, &mut report, &mut progress).await,
                // This account's: decided again on the consistent read, since
                // `all` may have read an index a moment behind the table.
                Some(held) if scope.holds(&held) => {
                    let one = Listing {
                        numbers: listed.get(id.as_str()).map(|n| (*n).clone()).into_iter().collect(),
                        ..Listing::default()
                    };
                    let again = diff(&one, std::slice::from_ref(&held), &looked_up, &observed_at);
                    for c in &again {
                        self.tell(c, &mut report, &mut progress).await;
                    }
                }
                Some(held) => {
                    self.held_for_another_account(c, &held, &mut report, &mut progress)
                        .await
                }
            }
        }
        if report.baseline_taken && !self.dry_run {
            self.inventory.mark_baseline(&observed_at).await?;
        }
        Ok(report)
    }

    /// A registered account's numbers are told as its own, whatever account
    /// RingCentral's resource uri names (or none); the default account's as
    /// the uri names it, as before there were many accounts.
    fn claim(&self, number: &mut NumberState) {
        if let Tenant::Registered(account) = self.inventory.scope().tenant() {
            number.account_id = Some(account.clone());
        }
    }

    /// Never told to anyone: the starting state, not a missed change. A
    /// number the inventory holds was told by a webhook, so its difference
    /// is a missed change: published.
    async fn quietly(&self, c: &Correction, report: &mut Report) {
        report.baselined += 1;
        if !self.dry_run {
            self.record(c, report).await;
        }
    }

    async fn tell(&self, c: &Correction, report: &mut Report, progress: &mut impl FnMut(Progress<'_>)) {
        progress(Progress::Correction(c));
        self.publish(c, Origin::Reconciliation, report, true).await;
    }

    /// `c` is about a number subscribers were last told about for another
    /// account (`held`). Listed here (`Created`): it moved to this account.
    /// While the other account's subscribers count it among its Contact
    /// Center numbers, they are told first it is gone from there (`Deleted`
    /// for that account, a millisecond before, so it is recorded and the
    /// `Created` after it: neither is told twice), and only if that was
    /// told, that it is here. Any other correction was decided on this
    /// account's items a moment behind the table: the number is the other
    /// account's now, and its reconciliation tells its subscribers.
    async fn held_for_another_account(
        &self,
        c: &Correction,
        held: &Told,
        report: &mut Report,
        progress: &mut impl FnMut(Progress<'_>),
    ) {
        if c.kind != Kind::Created {
            report.superseded += 1;
            return;
        }
        if held.is_contact_center() {
            let just_before = Timestamp::at(c.change.occurred_at.instant() - time::Duration::milliseconds(1));
            let left = correction(Kind::Deleted, last_known(held), Origin::Reconciliation, &just_before);
            let failed = report.failed.len();
            self.tell(&left, report, progress).await;
            if report.failed.len() > failed {
                // The other account's subscribers still count it: the next run tries both again.
                return;
            }
            report.ported += 1;
        }
        self.tell(c, report, progress).await;
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
