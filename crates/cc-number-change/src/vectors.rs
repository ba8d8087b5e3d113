//! The precedence vectors (`schema/vectors/precedence.json` at the root of
//! the repository; the format is in its README): deliveries and the verdict
//! each must get, then the entries a ledger must end with. Every [`Ledger`]
//! is run through [`replay`], which decides as the kit's `Subscriber` does
//! (batch.rs), so the in-memory and DynamoDB ledgers are held to one table.
//! Public behind the feature `vectors`, for the DynamoDB ledger's test
//! against moto in the relay's suite.

use crate::attributes::Received;
use crate::ledger::{apply, Entry, Ledger, LedgerError, Verdict};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The vectors' file, compiled in so a test needs no path at run time.
pub const PRECEDENCE: &str = include_str!("../../../schema/vectors/precedence.json");

/// What a delivery must come to: the ledger's verdict, or `Ignored` for a
/// delivery the relay flagged `stale=true`, which the kit never records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Outcome {
    Applied,
    Duplicate,
    Stale,
    Ignored,
}

impl From<Verdict> for Outcome {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Applied => Self::Applied,
            Verdict::Duplicate => Self::Duplicate,
            Verdict::Stale => Self::Stale,
        }
    }
}

/// One message as SQS hands it over with raw delivery: attributes beside the body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub attributes: BTreeMap<String, String>,
    /// The change as the relay publishes it (a JSON object; its text is the message body).
    pub body: Value,
    pub verdict: Outcome,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    pub name: String,
    pub description: String,
    pub deliveries: Vec<Delivery>,
    /// Every number's entry after the last delivery, by phone number id, as [`entry_json`] writes it.
    #[serde(rename = "final")]
    pub final_entries: Vec<Value>,
}

impl Vector {
    /// The outcome each delivery must have, in order.
    pub fn expected(&self) -> Vec<Outcome> {
        self.deliveries.iter().map(|d| d.verdict).collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[allow(dead_code)] // Read by people; parsed so the file's shape stays checked.
    description: String,
    vectors: Vec<Vector>,
}

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("precedence.json: {0}")]
    File(#[from] serde_json::Error),
    #[error("delivery {step}: {source}")]
    Undecodable { step: usize, source: crate::DecodeError },
    #[error("delivery {step}: {source}")]
    Ledger { step: usize, source: LedgerError },
}

/// Every vector of [`PRECEDENCE`].
pub fn precedence() -> Result<Vec<Vector>, VectorError> {
    Ok(serde_json::from_str::<File>(PRECEDENCE)?.vectors)
}

/// Delivers a vector's messages in order to `ledger`, as the kit's batch
/// does: decode the body, leave a `stale=true` delivery unrecorded, else
/// record the change. Returns each delivery's outcome.
pub async fn replay<L: Ledger>(ledger: &L, vector: &Vector) -> Result<Vec<Outcome>, VectorError> {
    let mut outcomes = Vec::with_capacity(vector.deliveries.len());
    for (step, delivery) in vector.deliveries.iter().enumerate() {
        let change = crate::decode(delivery.body.to_string().as_bytes())
            .map_err(|source| VectorError::Undecodable { step, source })?;
        let received = Received::from_lookup(|name| delivery.attributes.get(name).map(String::as_str));
        let outcome = if received.stale {
            Outcome::Ignored
        } else {
            apply(ledger, &change)
                .await
                .map_err(|source| VectorError::Ledger { step, source })?
                .into()
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// An entry as the vectors write it: the DynamoDB item's attributes, less
/// `occurredAtNanos` (how a ledger orders instants is its own business).
pub fn entry_json(entry: &Entry) -> Value {
    json!({
        "phoneNumberId": entry.phone_number_id.as_str(),
        "e164": entry.e164.as_str(),
        "occurredAt": entry.occurred_at.as_str(),
        "notificationId": entry.notification_id.as_str(),
        "changeType": entry.change_type.as_str(),
        "contactCenter": entry.contact_center,
        "contactCenterProviderId": entry.contact_center_provider_id,
    })
}

/// A ledger's entries as the vectors write them, in phone number id order.
pub fn entries_json(entries: &[Entry]) -> Vec<Value> {
    let mut all: Vec<&Entry> = entries.iter().collect();
    all.sort_by(|a, b| a.phone_number_id.as_str().cmp(b.phone_number_id.as_str()));
    all.into_iter().map(entry_json).collect()
}

/// How a ledger's run of `vector` differs from what the vector expects, or
/// `None` when it passes: the verdicts, then the entries it ended with.
pub fn mismatch(vector: &Vector, outcomes: &[Outcome], entries: &[Entry]) -> Option<String> {
    let expected = vector.expected();
    let entries = entries_json(entries);
    if outcomes != expected.as_slice() {
        Some(format!("{}: verdicts {outcomes:?}, expected {expected:?}", vector.name))
    } else if entries != vector.final_entries {
        Some(format!(
            "{}: final entries {}, expected {}",
            vector.name,
            Value::from(entries),
            Value::from(vector.final_entries.clone())
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::MemoryLedger;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn the_memory_ledger_passes_every_precedence_vector() {
        let vectors = precedence().unwrap();
        assert_eq!(vectors.len(), 30);
        let failed: Vec<String> = vectors
            .iter()
            .filter_map(|vector| {
                let ledger = MemoryLedger::default();
                let outcomes = run(replay(&ledger, vector)).unwrap();
                mismatch(vector, &outcomes, &ledger.entries())
            })
            .collect();
        assert!(failed.is_empty(), "{}", failed.join("\n"));
    }

    #[test]
    fn a_mismatch_names_the_vector_and_what_differs() {
        let vector = precedence().unwrap().remove(1); // duplicate-delivery
        let ledger = MemoryLedger::default();
        let outcomes = run(replay(&ledger, &vector)).unwrap();
        assert_eq!(mismatch(&vector, &outcomes, &ledger.entries()), None);
        assert_eq!(
            mismatch(
                &vector,
                &[Outcome::Applied, Outcome::Applied, Outcome::Duplicate],
                &ledger.entries()
            )
            .as_deref(),
            Some(
                "duplicate-delivery: verdicts [Applied, Applied, Duplicate], expected [Applied, Duplicate, Duplicate]"
            )
        );
        let wrong = mismatch(&vector, &outcomes, &[]).unwrap();
        assert!(
            wrong.starts_with("duplicate-delivery: final entries [], expected [{"),
            "{wrong}"
        );
    }

    #[test]
    fn a_stale_flag_is_read_as_the_kit_reads_it() {
        // Only the exact value "true" flags: the relay always writes "true" or "false".
        let vector = |stale: &str| {
            let mut v = precedence().unwrap().remove(0);
            v.deliveries[0].attributes.insert("stale".into(), stale.into());
            v
        };
        let outcome = |stale: &str| run(replay(&MemoryLedger::default(), &vector(stale))).unwrap();
        assert_eq!(outcome("true"), [Outcome::Ignored]);
        assert_eq!(outcome("TRUE"), [Outcome::Applied]);
        assert_eq!(outcome("false"), [Outcome::Applied]);
    }

    #[test]
    fn names_are_unique_and_every_outcome_is_exercised() {
        let vectors = precedence().unwrap();
        let names: std::collections::BTreeSet<&str> = vectors.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names.len(), vectors.len());
        let outcomes: std::collections::BTreeSet<String> = vectors
            .iter()
            .flat_map(Vector::expected)
            .map(|o| format!("{o:?}"))
            .collect();
        assert_eq!(
            outcomes.into_iter().collect::<Vec<_>>(),
            ["Applied", "Duplicate", "Ignored", "Stale"]
        );
    }
}
