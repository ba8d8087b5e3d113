//! Applied once, in order, per number: the ledger port, its precedence rule
//! and an in-memory adapter. A ledger keeps, per phone number id, the last
//! change applied to it; recording a change is one conditional write that
//! says whether it was applied, a duplicate, or stale.

use crate::change::Change;
use crate::types::{EventType, NotificationId, PhoneNumberId, Timestamp, E164};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

/// What became of one change. Run side effects only for `Applied`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Newer than anything applied to its number: now the number's state.
    Applied,
    /// The same notification as the one last applied to its number.
    Duplicate,
    /// Older than what was applied to its number (or flagged stale by the relay).
    Stale,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "Applied",
            Self::Duplicate => "Duplicate",
            Self::Stale => "Stale",
        }
    }
}

/// The last applied change of one number, as a ledger keeps it. A `Deleted`
/// stays as a tombstone (`contact_center` false) so that an older change
/// arriving late cannot bring the number back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub phone_number_id: PhoneNumberId,
    pub e164: E164,
    pub occurred_at: Timestamp,
    /// `occurred_at` as nanoseconds since the epoch: the order is the
    /// instant's, whatever offset the text was written in.
    pub occurred_at_nanos: i128,
    pub notification_id: NotificationId,
    pub change_type: EventType,
    /// True while the last applied change says the number is a Contact Center number.
    pub contact_center: bool,
    pub contact_center_provider_id: Option<String>,
}

impl Entry {
    pub fn of(change: &Change) -> Self {
        Self {
            phone_number_id: change.phone_number.id.clone(),
            e164: change.phone_number.e164.clone(),
            occurred_at: change.occurred_at.clone(),
            occurred_at_nanos: change.occurred_at.instant().unix_timestamp_nanos(),
            notification_id: change.notification_id.clone(),
            change_type: change.change_type,
            contact_center: change.leaves_contact_center_number(),
            contact_center_provider_id: change
                .contact_center_provider
                .as_ref()
                .and_then(|p| p.id.clone())
                .filter(|id| !id.is_empty()),
        }
    }

    /// The precedence rule, the same on every replica: the later instant
    /// wins; at equal instants the greater notification id wins, so two
    /// subscribers given the same changes in any order end the same. The
    /// notification id is tested first: the same notification with another
    /// instant (a correction published again) is a duplicate, not a change.
    pub fn verdict_against(&self, current: &Entry) -> Verdict {
        if self.notification_id == current.notification_id {
            Verdict::Duplicate
        } else if (self.occurred_at_nanos, self.notification_id.as_str())
            > (current.occurred_at_nanos, current.notification_id.as_str())
        {
            Verdict::Applied
        } else {
            Verdict::Stale
        }
    }
}

/// What recording a change did; `Applied` carries what undoes it.
#[derive(Debug)]
pub enum Recorded<U> {
    Applied(U),
    Duplicate,
    Stale,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger: {0}")]
pub struct LedgerError(pub String);

/// The port: what a subscriber has applied, keyed by phone number id.
pub trait Ledger: Sync {
    /// What [`Ledger::revert`] needs to put the number back as it was.
    type Undo: Send;

    /// Records `entry` if it takes precedence over the number's current
    /// entry, in one atomic step (no read before the write).
    fn record(&self, entry: &Entry) -> impl Future<Output = Result<Recorded<Self::Undo>, LedgerError>> + Send;

    /// Puts back what `entry` replaced, unless something newer replaced it
    /// since: the subscriber's side effect failed, so the change is retried.
    fn revert(&self, entry: &Entry, undo: Self::Undo) -> impl Future<Output = Result<(), LedgerError>> + Send;
}

impl<L: Ledger> Ledger for &L {
    type Undo = L::Undo;
    fn record(&self, entry: &Entry) -> impl Future<Output = Result<Recorded<Self::Undo>, LedgerError>> + Send {
        (**self).record(entry)
    }
    fn revert(&self, entry: &Entry, undo: Self::Undo) -> impl Future<Output = Result<(), LedgerError>> + Send {
        (**self).revert(entry, undo)
    }
}

/// A ledger in memory: tests, and subscribers whose state is rebuilt from a
/// snapshot at every start.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    entries: Mutex<HashMap<PhoneNumberId, Entry>>,
}

impl MemoryLedger {
    /// Every number's entry, tombstones included.
    pub fn entries(&self) -> Vec<Entry> {
        let mut all: Vec<Entry> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| a.phone_number_id.as_str().cmp(b.phone_number_id.as_str()));
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PhoneNumberId, Entry>> {
        // A panic elsewhere cannot leave a half-written entry: inserts are whole.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Ledger for MemoryLedger {
    type Undo = Option<Entry>;

    async fn record(&self, entry: &Entry) -> Result<Recorded<Option<Entry>>, LedgerError> {
        let mut entries = self.lock();
        let verdict = entries
            .get(&entry.phone_number_id)
            .map_or(Verdict::Applied, |current| entry.verdict_against(current));
        Ok(match verdict {
            Verdict::Applied => Recorded::Applied(entries.insert(entry.phone_number_id.clone(), entry.clone())),
            Verdict::Duplicate => Recorded::Duplicate,
            Verdict::Stale => Recorded::Stale,
        })
    }

    async fn revert(&self, entry: &Entry, undo: Option<Entry>) -> Result<(), LedgerError> {
        let mut entries = self.lock();
        let still_ours = entries
            .get(&entry.phone_number_id)
            .is_some_and(|current| current.notification_id == entry.notification_id);
        if still_ours {
            match undo {
                Some(previous) => entries.insert(entry.phone_number_id.clone(), previous),
                None => entries.remove(&entry.phone_number_id),
            };
        }
        Ok(())
    }
}

/// Records one change: the verdict the subscriber acts on, and the undo.
pub async fn apply<L: Ledger>(ledger: &L, change: &Change) -> Result<Verdict, LedgerError> {
    Ok(match ledger.record(&Entry::of(change)).await? {
        Recorded::Applied(_) => Verdict::Applied,
        Recorded::Duplicate => Verdict::Duplicate,
        Recorded::Stale => Verdict::Stale,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::change;

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn verdicts(changes: &[Change]) -> (Vec<Verdict>, MemoryLedger) {
        let ledger = MemoryLedger::default();
        let verdicts = run(async {
            let mut out = Vec::new();
            for c in changes {
                out.push(apply(&ledger, c).await.unwrap());
            }
            out
        });
        (verdicts, ledger)
    }

    use EventType::*;
    use Verdict::*;

    #[test]
    fn a_newer_change_is_applied_an_older_one_is_stale() {
        let (v, ledger) = verdicts(&[
            change("n1", Created, "2026-01-01T10:00:00Z", "a"),
            change("n1", Updated, "2026-01-01T11:00:00Z", "b"),
            change("n1", Updated, "2026-01-01T10:30:00Z", "c"),
        ]);
        assert_eq!(v, [Applied, Applied, Stale]);
        assert_eq!(ledger.entries()[0].notification_id.as_str(), "b");
    }

    #[test]
    fn the_same_notification_again_is_a_duplicate() {
        let c = change("n1", Created, "2026-01-01T10:00:00Z", "a");
        let (v, _) = verdicts(&[c.clone(), c]);
        assert_eq!(v, [Applied, Duplicate]);
    }

    #[test]
    fn instants_are_compared_not_their_text() {
        // 10:00+02:00 is 08:00Z: older, though its text sorts after.
        let (v, _) = verdicts(&[
            change("n1", Updated, "2026-01-01T09:00:00Z", "a"),
            change("n1", Updated, "2026-01-01T10:00:00+02:00", "b"),
        ]);
        assert_eq!(v, [Applied, Stale]);
    }

    #[test]
    fn equal_instants_are_decided_the_same_in_either_order() {
        let a = change("n1", Updated, "2026-01-01T10:00:00Z", "aaa");
        let b = change("n1", Updated, "2026-01-01T10:00:00.000+00:00", "bbb");
        let (v1, l1) = verdicts(&[a.clone(), b.clone()]);
        let (v2, l2) = verdicts(&[b, a]);
        assert_eq!(
            (v1.as_slice(), v2.as_slice()),
            ([Applied, Applied].as_slice(), [Applied, Stale].as_slice())
        );
        assert_eq!(l1.entries(), l2.entries());
    }

    #[test]
    fn a_deleted_number_stays_deleted_when_an_older_created_arrives_late() {
        let (v, ledger) = verdicts(&[
            change("n1", Deleted, "2026-01-01T12:00:00Z", "d"),
            change("n1", Created, "2026-01-01T10:00:00Z", "c"),
        ]);
        assert_eq!(v, [Applied, Stale]);
        let tombstone = &ledger.entries()[0];
        assert!(!tombstone.contact_center);
        assert_eq!(tombstone.change_type, Deleted);
    }

    #[test]
    fn a_snapshot_after_a_deleted_applies_only_when_observed_later() {
        let (v, ledger) = verdicts(&[
            change("n1", Deleted, "2026-01-01T12:00:00Z", "d"),
            change("n1", Created, "2026-01-01T11:59:00Z", "snapshot-early"),
            change("n1", Created, "2026-01-01T13:00:00Z", "snapshot-late"),
        ]);
        assert_eq!(v, [Applied, Stale, Applied]);
        assert!(ledger.entries()[0].contact_center);
    }

    #[test]
    fn numbers_are_independent() {
        let (v, ledger) = verdicts(&[
            change("n1", Created, "2026-01-01T12:00:00Z", "a"),
            change("n2", Created, "2026-01-01T10:00:00Z", "b"),
        ]);
        assert_eq!(v, [Applied, Applied]);
        assert_eq!(ledger.entries().len(), 2);
    }

    #[test]
    fn a_reassignment_away_from_contact_center_is_a_tombstone_too() {
        let mut away = change("n1", Updated, "2026-01-01T12:00:00Z", "b");
        away.phone_number.usage_type = Some("DirectNumber".into());
        let (_, ledger) = verdicts(&[change("n1", Created, "2026-01-01T10:00:00Z", "a"), away]);
        assert!(!ledger.entries()[0].contact_center);
    }

    #[test]
    fn revert_restores_the_previous_entry_unless_something_newer_came() {
        let ledger = MemoryLedger::default();
        let first = Entry::of(&change("n1", Created, "2026-01-01T10:00:00Z", "a"));
        let second = Entry::of(&change("n1", Updated, "2026-01-01T11:00:00Z", "b"));
        let third = Entry::of(&change("n1", Updated, "2026-01-01T12:00:00Z", "c"));
        run(async {
            assert!(matches!(ledger.record(&first).await.unwrap(), Recorded::Applied(None)));
            let Recorded::Applied(undo) = ledger.record(&second).await.unwrap() else {
                panic!()
            };
            ledger.revert(&second, undo).await.unwrap();
            assert_eq!(ledger.entries(), [first]);
            let Recorded::Applied(undo) = ledger.record(&second).await.unwrap() else {
                panic!()
            };
            ledger.record(&third).await.unwrap();
            ledger.revert(&second, undo).await.unwrap();
            assert_eq!(ledger.entries(), [third]);
        });
    }
}
