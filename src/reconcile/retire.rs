//! Retiring a registered account (`accounts remove`): before the registry
//! forgets it, its subscribers are told that each Contact Center number
//! they were last told about for it is gone (`Deleted`, `origin`
//! reconciliation, the account's id), and each is recorded so.
//!
//! Why: once the account's subscriptions are deleted, nothing tells its
//! subscribers anything about it again, so they would keep its numbers for
//! ever. And once it is no longer registered, its items fall into the
//! default account's scope ([`crate::inventory::Scope::holds`]); recorded
//! `Deleted`, they are no Contact Center numbers there, so the default
//! account's reconciliation concludes nothing from them.
//!
//! Each correction is the one reconciliation would publish for the same
//! number gone (same id, from the last known state), so a rerun after a
//! partial failure, or a reconciliation of the account at the same moment,
//! repeats an id that FIFO topics and subscribers' ledgers drop.

use super::diff::{correction, last_known};
use super::{Correction, Kind, Progress, ReconcileError, Report};
use crate::change::{AccountId, Delivery, Origin, Timestamp};
use crate::inventory::{Inventory, Told};
use crate::sink::Sink;

/// The decision: a `Deleted` for each number subscribers were last told is
/// one of `account`'s Contact Center numbers, in id order. What was told
/// deleted, or reassigned away, or for another account, needs nothing.
pub fn retirements(told: &[Told], account: &AccountId, observed_at: &Timestamp) -> Vec<Correction> {
    let mut corrections: Vec<Correction> = told
        .iter()
        .filter(|t| t.change.account_id.as_ref() == Some(account) && t.is_contact_center())
        .map(|t| correction(Kind::Deleted, last_known(t), Origin::Reconciliation, observed_at))
        .collect();
    corrections.sort_by(|a, b| a.change.phone_number.id.as_str().cmp(b.change.phone_number.id.as_str()));
    corrections
}

/// Publishes and records [`retirements`] of `account`'s items in
/// `inventory` (its registered view: `DynamoInventory::for_tenant`).
/// `Report::numbers` counts the retirements decided; what was published,
/// superseded, failed or not recorded is counted as by a reconciliation.
/// A failed publish is not recorded, so a rerun tells it again.
pub async fn retire<I: Inventory, S: Sink>(
    inventory: &I,
    sink: &S,
    account: &AccountId,
    now: time::OffsetDateTime,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Report, ReconcileError> {
    let observed_at = Timestamp::at(now);
    let told = inventory.all().await?;
    let corrections = retirements(&told, account, &observed_at);
    let mut report = Report {
        numbers: corrections.len(),
        ..Report::default()
    };
    for c in &corrections {
        // `all` may read an index a moment behind the table: decided again
        // on the item itself, which a notification may have moved on.
        let held = inventory.last_told(&c.change.phone_number.id).await?;
        let still = held.as_ref().is_some_and(|h| {
            h.change.account_id.as_ref() == Some(account)
                && h.is_contact_center()
                && h.change.occurred_at.instant() < observed_at.instant()
        });
        if !still {
            report.superseded += 1;
            continue;
        }
        progress(Progress::Correction(c));
        match sink.publish(&c.change, Delivery::fresh(Origin::Reconciliation)).await {
            Ok(_) => {
                *report.published.entry(c.kind).or_default() += 1;
                let told = Told {
                    change: c.change.clone(),
                    origin: Origin::Reconciliation,
                };
                if inventory.record(&told).await.is_err() {
                    report.unrecorded += 1;
                }
            }
            Err(failure) => report.failed.push(failure),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{
        Change, ContactCenterProvider, EventType, NotificationId, NumberState, PhoneNumber, PhoneNumberId,
        SchemaVersion, E164,
    };
    use crate::inventory::memory::MemoryInventory;
    use crate::inventory::Scope;
    use crate::parked::PublishFailure;
    use crate::reconcile::correction_id;
    use crate::registry::Tenant;
    use crate::sink::recording::RecordingSink;
    use std::collections::BTreeSet;

    const A: &str = "51000001";
    const B: &str = "62000002";

    fn account(id: &str) -> AccountId {
        AccountId::parse(id).unwrap()
    }

    fn at(text: &str) -> time::OffsetDateTime {
        Timestamp::parse(text).unwrap().instant()
    }

    fn state(id: &str, usage: &str, account_id: Option<&str>) -> NumberState {
        NumberState {
            account_id: account_id.map(self::account),
            phone_number: PhoneNumber {
                id: PhoneNumberId::parse(id).unwrap(),
                e164: E164::parse(format!("+1202555{id:0>4}")).unwrap(),
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

    /// What a webhook told subscribers about `state`, at `when`.
    fn told(change_type: EventType, state: NumberState, when: &str) -> Told {
        Told {
            change: Change {
                schema_version: SchemaVersion,
                change_type,
                notification_id: NotificationId::parse(format!(
                    "00000000-0000-4000-8000-{:0>12}",
                    state.phone_number.id
                ))
                .unwrap(),
                occurred_at: Timestamp::parse(when).unwrap(),
                account_id: state.account_id,
                subscription_id: None,
                owner_id: None,
                phone_number: state.phone_number,
                contact_center_provider: state.contact_center_provider,
            },
            origin: Origin::Webhook,
        }
    }

    const EARLIER: &str = "2026-03-01T10:00:00.000Z";
    const NOW: &str = "2026-03-02T10:00:00.000Z";

    /// A's two Contact Center numbers, one it was told deleted, one
    /// reassigned away; B's number; the default account's.
    async fn store() -> MemoryInventory {
        let store = MemoryInventory::default();
        let cc = "ContactCenterNumber";
        for t in [
            told(EventType::Created, state("2001", cc, Some(A)), EARLIER),
            told(EventType::Created, state("2002", cc, Some(A)), EARLIER),
            told(EventType::Deleted, state("2003", cc, Some(A)), EARLIER),
            told(EventType::Updated, state("2004", "MainCompanyNumber", Some(A)), EARLIER),
            told(EventType::Created, state("3001", cc, Some(B)), EARLIER),
            told(EventType::Created, state("1001", cc, None), EARLIER),
        ] {
            store.record(&t).await.unwrap();
        }
        store
    }

    fn view_of<'a>(store: &'a MemoryInventory, id: &str) -> crate::inventory::memory::MemoryView<'a> {
        store.view(Scope::new(Tenant::Registered(account(id)), BTreeSet::new()))
    }

    #[tokio::test]
    async fn each_contact_center_number_of_the_account_is_told_deleted_once_with_its_account() {
        let store = store().await;
        let a = view_of(&store, A);
        let sink = RecordingSink::default();
        let report = retire(&a, &sink, &account(A), at(NOW), |_| {}).await.unwrap();

        let cc = "ContactCenterNumber";
        let expected: Vec<(Change, Delivery)> = ["2001", "2002"]
            .into_iter()
            .map(|id| {
                let last_known = state(id, cc, Some(A));
                let change = Change {
                    schema_version: SchemaVersion,
                    change_type: EventType::Deleted,
                    notification_id: correction_id(Origin::Reconciliation, EventType::Deleted, &last_known),
                    occurred_at: Timestamp::parse(NOW).unwrap(),
                    account_id: Some(account(A)),
                    subscription_id: None,
                    owner_id: None,
                    phone_number: last_known.phone_number,
                    contact_center_provider: last_known.contact_center_provider,
                };
                (change, Delivery::fresh(Origin::Reconciliation))
            })
            .collect();
        assert_eq!(sink.deliveries(), expected);
        assert_eq!(
            (
                report.numbers,
                report.published_total(),
                report.superseded,
                report.failed.len()
            ),
            (2, 2, 0, 0)
        );
        // Recorded as told, so they count as no Contact Center number anywhere now.
        for (change, _) in &expected {
            let held = store.get(change.phone_number.id.as_str()).unwrap();
            assert_eq!(
                held,
                Told {
                    change: change.clone(),
                    origin: Origin::Reconciliation
                }
            );
        }
        // Untouched: B's, the default account's.
        assert_eq!(store.get("3001").unwrap().change.change_type, EventType::Created);
        assert_eq!(store.get("1001").unwrap().change.change_type, EventType::Created);

        // A rerun (after a failure elsewhere) tells nothing again.
        let again = RecordingSink::default();
        let report = retire(&a, &again, &account(A), at(NOW), |_| {}).await.unwrap();
        assert_eq!((report.numbers, report.published_total()), (0, 0));
        assert!(again.published().is_empty());
    }

    #[tokio::test]
    async fn a_failed_publish_is_not_recorded_so_a_rerun_tells_it() {
        let store = store().await;
        let a = view_of(&store, A);
        let failure = PublishFailure {
            topic: "deleted".into(),
            code: "Throttling".into(),
            message: String::new(),
            request_id: None,
        };
        let failing = RecordingSink::default().failing_publish(failure.clone());
        let report = retire(&a, &failing, &account(A), at(NOW), |_| {}).await.unwrap();
        assert_eq!(
            (report.published_total(), report.failed),
            (0, vec![failure.clone(), failure])
        );
        assert_eq!(store.get("2001").unwrap().change.change_type, EventType::Created);

        let sink = RecordingSink::default();
        let report = retire(&a, &sink, &account(A), at(NOW), |_| {}).await.unwrap();
        assert_eq!(report.published_total(), 2);
    }

    #[tokio::test]
    async fn a_number_told_since_or_for_another_account_is_left_alone() {
        let store = store().await;
        // 2002 moved to B since, and B's subscribers were told.
        let cc = "ContactCenterNumber";
        store
            .record(&told(
                EventType::Created,
                state("2002", cc, Some(B)),
                "2026-03-01T11:00:00.000Z",
            ))
            .await
            .unwrap();
        // A notification about 2001 recorded at the run's instant wins.
        store
            .record(&told(EventType::Updated, state("2001", cc, Some(A)), NOW))
            .await
            .unwrap();
        // `all` read a moment behind the table: it still lists both as A's.
        let stale: Vec<Told> = vec![
            told(EventType::Created, state("2001", cc, Some(A)), EARLIER),
            told(EventType::Created, state("2002", cc, Some(A)), EARLIER),
        ];
        assert_eq!(
            retirements(&stale, &account(A), &Timestamp::parse(NOW).unwrap()).len(),
            2
        );
        let behind = Behind { store: &store, stale };
        let sink = RecordingSink::default();
        let report = retire(&behind, &sink, &account(A), at(NOW), |_| {}).await.unwrap();
        assert_eq!((report.numbers, report.superseded, report.published_total()), (2, 2, 0));
        assert!(sink.published().is_empty());
    }

    /// An inventory whose `all` is a stale read; everything else the store's.
    struct Behind<'a> {
        store: &'a MemoryInventory,
        stale: Vec<Told>,
    }

    impl Inventory for Behind<'_> {
        async fn last_told(&self, id: &PhoneNumberId) -> Result<Option<Told>, crate::inventory::InventoryError> {
            self.store.last_told(id).await
        }
        async fn record(&self, told: &Told) -> Result<crate::inventory::Recorded, crate::inventory::InventoryError> {
            self.store.record(told).await
        }
        async fn all(&self) -> Result<Vec<Told>, crate::inventory::InventoryError> {
            Ok(self.stale.clone())
        }
        async fn baseline(&self) -> Result<Option<Timestamp>, crate::inventory::InventoryError> {
            Ok(None)
        }
        async fn mark_baseline(&self, _at: &Timestamp) -> Result<(), crate::inventory::InventoryError> {
            Ok(())
        }
    }
}
