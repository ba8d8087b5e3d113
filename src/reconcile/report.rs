//! What a run did, as the summary line, the finding and the metrics read it.

use super::Kind;
use crate::parked::PublishFailure;
use std::collections::BTreeMap;

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
    /// Numbers subscribers were last told were another account's Contact
    /// Center numbers, now this account's: told `Deleted` for that account,
    /// then `Created` for this one (both counted in `published`).
    pub ported: usize,
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
        if self.ported > 0 {
            line.push_str(&format!(", ported from another account {}", self.ported));
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
