//! Counts of one batch as CloudWatch embedded metric format (EMF): one JSON
//! line per change type on stdout, which Lambda ships to CloudWatch Logs and
//! CloudWatch turns into metrics, with no API call in the handler.

use crate::ledger::Verdict;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The namespace when the subscriber names none.
pub const DEFAULT_NAMESPACE: &str = "CcNumberSubscriber";

/// What became of each message of a batch, by change type (`Unknown` for a
/// message that did not decode).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts(BTreeMap<&'static str, [u32; 4]>);

const NAMES: [&str; 4] = ["Applied", "Duplicate", "Stale", "Failed"];

impl Counts {
    pub fn add(&mut self, change_type: Option<&'static str>, outcome: Option<Verdict>) {
        let slot = match outcome {
            Some(Verdict::Applied) => 0,
            Some(Verdict::Duplicate) => 1,
            Some(Verdict::Stale) => 2,
            None => 3,
        };
        self.0.entry(change_type.unwrap_or("Unknown")).or_default()[slot] += 1;
    }

    /// How many messages of `change_type` ended as `name` (Applied, Duplicate, Stale, Failed).
    pub fn get(&self, change_type: &str, name: &str) -> u32 {
        let slot = NAMES.iter().position(|n| *n == name);
        self.0.get(change_type).zip(slot).map_or(0, |(c, s)| c[s])
    }

    /// The EMF documents, one per change type seen.
    pub fn emf(&self, namespace: &str) -> Vec<String> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let metrics: Vec<_> = NAMES.iter().map(|n| json!({"Name": n, "Unit": "Count"})).collect();
        self.0
            .iter()
            .map(|(change_type, counts)| {
                let mut doc = json!({
                    "_aws": {
                        "Timestamp": timestamp,
                        "CloudWatchMetrics": [{
                            "Namespace": namespace,
                            "Dimensions": [["ChangeType"]],
                            "Metrics": metrics,
                        }]
                    },
                    "ChangeType": change_type,
                });
                for (name, count) in NAMES.iter().zip(counts) {
                    doc[*name] = json!(count);
                }
                doc.to_string()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_per_change_type_with_every_count() {
        let mut counts = Counts::default();
        counts.add(Some("Created"), Some(Verdict::Applied));
        counts.add(Some("Created"), Some(Verdict::Stale));
        counts.add(None, None);
        let docs: Vec<serde_json::Value> = counts
            .emf("Ns")
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["ChangeType"], "Created");
        assert_eq!(
            (
                docs[0]["Applied"].as_u64(),
                docs[0]["Stale"].as_u64(),
                docs[0]["Failed"].as_u64()
            ),
            (Some(1), Some(1), Some(0))
        );
        assert_eq!(docs[1]["ChangeType"], "Unknown");
        assert_eq!(docs[1]["Failed"], 1);
        assert_eq!(docs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Ns");
        assert_eq!(
            docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
    }
}
