//! The golden messages (`schema/vectors/messages/` at the root of the
//! repository; the format is in its README): every kind of message the
//! relay publishes, as each kind of subscriber receives it, one Lambda event
//! per file, and `index.json`, what a subscriber must read from each. This
//! runner holds the kit to them through what a subscriber Lambda runs:
//! [`receive`](crate::receive) for the one message, and [`Subscriber`] for
//! the whole event. The relay's suite generates the files from its real
//! output on moto (`tests/it/golden.rs`) and runs this on what it generated.
//! Public behind the features `vectors` and `lambda`.

use crate::batch::Subscriber;
use crate::change::Change;
use crate::decode::DecodeError;
use crate::ledger::MemoryLedger;
use crate::receive::{from_sns, from_sqs, Message};
use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::SqsEvent;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// The directory, from this crate's place in the repository.
pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/vectors/messages");

/// The three ways a subscriber receives a message, as the manifest's `delivery` names them.
pub const DELIVERIES: [&str; 3] = ["sqs-raw", "sqs-sns-envelope", "sns-record"];

/// Every `.json` file under `dir`, by its path inside it (`index.json`, `good/…`, `bad/…`).
pub fn files(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, base, out)?;
            } else if path.extension().is_some_and(|e| e == "json") {
                let name = path.strip_prefix(base).unwrap_or(&path);
                // Manifest paths use `/` on every platform.
                let name = name
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.insert(name, std::fs::read_to_string(&path)?);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

/// What the kit got wrong on these files (as [`files`] reads them), one
/// line each; empty when it read every good file as its `expect` says and
/// refused every bad one with its `error`.
pub async fn failures(files: &BTreeMap<String, String>) -> Vec<String> {
    let index: Value = match files.get("index.json").map(|t| serde_json::from_str(t)) {
        Some(Ok(index)) => index,
        Some(Err(e)) => return vec![format!("index.json: {e}")],
        None => return vec!["index.json is missing".to_owned()],
    };
    let mut failures = Vec::new();
    let entries = |list: &str| index[list].as_array().cloned().unwrap_or_default();
    for entry in entries("good") {
        let (file, delivery) = (entry["file"].as_str().unwrap_or_default(), &entry["delivery"]);
        let Some(text) = files.get(file) else {
            failures.push(format!("{file}: listed in index.json, not there"));
            continue;
        };
        match read(delivery.as_str().unwrap_or_default(), text).await {
            Ok(read) if read == entry["expect"] => {}
            Ok(read) => failures.push(format!("{file}: read {read}, expected {}", entry["expect"])),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    for entry in entries("bad") {
        let (file, delivery) = (entry["file"].as_str().unwrap_or_default(), &entry["delivery"]);
        let Some(text) = files.get(file) else {
            failures.push(format!("{file}: listed in index.json, not there"));
            continue;
        };
        let expected = &entry["expect"]["error"];
        match refusal(delivery.as_str().unwrap_or_default(), text).await {
            Ok(error) if error == *expected => {}
            Ok(error) => failures.push(format!("{file}: refused with {error}, expected {expected}")),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    failures
}

/// A message as the manifest's `expect` writes it.
pub fn expectation(message: &Message) -> Value {
    let change = &message.change;
    json!({
        "changeType": change.change_type.as_str(), "origin": message.received.origin.map(|o| o.as_str()),
        "stale": message.received.stale, "notificationId": change.notification_id.as_str(),
        "phoneNumberId": change.phone_number.id.as_str(), "e164": change.phone_number.e164.as_str(),
        "usageType": change.phone_number.usage_type
    })
}

/// An error as the manifest's `expect.error` writes it: the rule's text is
/// each language's own, so only the kind and the path are compared.
pub fn error_json(error: &DecodeError) -> Value {
    match error {
        DecodeError::InvalidJson(_) => json!({"kind": "invalid-json", "path": null}),
        DecodeError::NewerSchema(_) => json!({"kind": "newer-schema", "path": null}),
        DecodeError::InvalidField { path, .. } => json!({"kind": "invalid-field", "path": path}),
    }
}

/// One event of either source, decoded as the Lambda runtime decodes it.
enum Event {
    Sqs(SqsEvent),
    Sns(SnsEvent),
}

fn event(delivery: &str, text: &str) -> Result<Event, String> {
    let event = match delivery {
        "sqs-raw" | "sqs-sns-envelope" => serde_json::from_str(text)
            .map(Event::Sqs)
            .map_err(|e| format!("not an SQS event: {e}"))?,
        "sns-record" => serde_json::from_str(text)
            .map(Event::Sns)
            .map_err(|e| format!("not an SNS event: {e}"))?,
        other => return Err(format!("unknown delivery {other}")),
    };
    let records = match &event {
        Event::Sqs(e) => e.records.len(),
        Event::Sns(e) => e.records.len(),
    };
    if records != 1 {
        return Err(format!("{records} records, not one"));
    }
    Ok(event)
}

/// The event's one message through `receive`.
fn receive(event: &Event) -> Result<Message, DecodeError> {
    match event {
        Event::Sqs(e) => from_sqs(&e.records[0]),
        Event::Sns(e) => from_sns(&e.records[0]),
    }
}

/// The whole event through a [`Subscriber`] with an empty ledger: the
/// changes its handler ran for, or what it reported failed.
async fn subscribe(event: Event, handler_fails: bool) -> (Vec<Change>, Result<(), String>) {
    let handled = Mutex::new(Vec::new());
    let handler = |change: Change| {
        if let Ok(mut handled) = handled.lock() {
            handled.push(change);
        }
        async move {
            if handler_fails {
                Err("the handler refuses every change")
            } else {
                Ok(())
            }
        }
    };
    let subscriber = Subscriber::new(MemoryLedger::default());
    let result = match event {
        Event::Sqs(event) => {
            let response = subscriber.sqs(event, handler).await;
            let failed: Vec<String> = response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect();
            if failed.is_empty() {
                Ok(())
            } else {
                Err(format!("batchItemFailures {failed:?}"))
            }
        }
        Event::Sns(event) => subscriber.sns(event, handler).await.map_err(|e| e.to_string()),
    };
    (handled.into_inner().unwrap_or_default(), result)
}

/// A good file: `receive` reads it, and the `Subscriber` handles its change
/// once (never, when it is flagged stale) and reports nothing failed.
async fn read(delivery: &str, text: &str) -> Result<Value, String> {
    let event = event(delivery, text)?;
    let message = receive(&event).map_err(|e| format!("refused: {e}"))?;
    let (handled, result) = subscribe(event, false).await;
    result.map_err(|e| format!("the Subscriber failed it: {e}"))?;
    let expected = if message.received.stale {
        Vec::new()
    } else {
        vec![message.change.clone()]
    };
    if handled != expected {
        return Err(format!(
            "the handler ran for {} changes, not {}",
            handled.len(),
            expected.len()
        ));
    }
    Ok(expectation(&message))
}

/// A bad file: `receive` refuses it, and the `Subscriber` reports its one
/// message failed without running the handler.
async fn refusal(delivery: &str, text: &str) -> Result<Value, String> {
    let event = event(delivery, text)?;
    let id = match &event {
        Event::Sqs(e) => e.records[0].message_id.clone().unwrap_or_default(),
        Event::Sns(e) => e.records[0].sns.message_id.clone(),
    };
    let error = match receive(&event) {
        Ok(message) => return Err(format!("accepted as {}", expectation(&message))),
        Err(e) => error_json(&e),
    };
    let (handled, result) = subscribe(event, true).await;
    let reported = match result {
        Ok(()) => return Err("the Subscriber reported no failure".to_owned()),
        Err(e) => e,
    };
    if !handled.is_empty() || !reported.contains(&id) {
        return Err(format!(
            "the Subscriber ran the handler or named another message: {reported}"
        ));
    }
    Ok(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn committed() -> BTreeMap<String, String> {
        files(Path::new(DIR)).unwrap()
    }

    #[test]
    fn the_kit_reads_every_golden_message_as_its_manifest_says() {
        let failures = run(failures(&committed()));
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn the_manifest_lists_every_file_and_every_kind_of_message() {
        let files = committed();
        let index: Value = serde_json::from_str(&files["index.json"]).unwrap();
        let mut listed = vec!["index.json".to_owned()];
        let mut counts = BTreeMap::new();
        for list in ["good", "bad"] {
            for entry in index[list].as_array().unwrap() {
                let delivery = entry["delivery"].as_str().unwrap();
                assert!(DELIVERIES.contains(&delivery), "{entry}");
                let file = entry["file"].as_str().unwrap();
                assert!(file.starts_with(&format!("{list}/{delivery}/")), "{file}");
                listed.push(file.to_owned());
                *counts.entry((list, delivery)).or_insert(0) += 1;
            }
        }
        listed.sort();
        assert_eq!(files.keys().cloned().collect::<Vec<_>>(), listed);
        let expected = BTreeMap::from([
            (("bad", "sns-record"), 4),
            (("bad", "sqs-raw"), 4),
            (("bad", "sqs-sns-envelope"), 4),
            (("good", "sns-record"), 8),
            (("good", "sqs-raw"), 11),
            (("good", "sqs-sns-envelope"), 11),
        ]);
        assert_eq!(counts, expected);

        // Every value of every dimension, per delivery.
        for delivery in DELIVERIES {
            let good: Vec<&Value> = index["good"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["delivery"] == delivery)
                .collect();
            let seen = |f: &dyn Fn(&Value) -> Value| {
                let mut values: Vec<String> = good.iter().map(|e| f(e).to_string()).collect();
                values.sort();
                values.dedup();
                values.join(" ")
            };
            let expect = |key: &'static str| move |e: &Value| e["expect"][key].clone();
            assert_eq!(
                seen(&expect("changeType")),
                r#""Created" "Deleted" "Updated""#,
                "{delivery}"
            );
            assert_eq!(
                seen(&expect("origin")),
                r#""reconciliation" "redrive" "snapshot" "webhook""#,
                "{delivery}"
            );
            assert_eq!(seen(&expect("stale")), "false true", "{delivery}");
            assert_eq!(
                seen(&expect("usageType")),
                r#""ContactCenterNumber" "DirectNumber""#,
                "{delivery}"
            );
            let topic_types = if delivery == "sns-record" {
                r#""standard""#
            } else {
                r#""fifo" "standard""#
            };
            assert_eq!(seen(&|e: &Value| e["topicType"].clone()), topic_types, "{delivery}");
        }
        let kinds: Vec<String> = index["bad"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["expect"]["error"]["kind"].to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(kinds, [r#""invalid-field""#, r#""invalid-json""#, r#""newer-schema""#]);
    }

    #[test]
    fn a_wrong_expectation_or_error_is_named() {
        let mut files = committed();
        let mut index: Value = serde_json::from_str(&files["index.json"]).unwrap();
        index["good"][0]["expect"]["stale"] = true.into();
        index["bad"][0]["expect"]["error"]["path"] = "$.elsewhere".into();
        let good = index["good"][0]["file"].as_str().unwrap().to_owned();
        let bad = index["bad"][0]["file"].as_str().unwrap().to_owned();
        files.insert("index.json".into(), index.to_string());
        let found = run(failures(&files));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with(&format!("{good}: read ")), "{found:?}");
        assert!(found[1].starts_with(&format!("{bad}: refused with ")), "{found:?}");
        // A good message of its delivery in a bad file's place is accepted, and said so.
        let delivery = &index["bad"][0]["delivery"];
        let good_of_delivery = index["good"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["delivery"] == *delivery)
            .unwrap();
        let replacement = files[good_of_delivery["file"].as_str().unwrap()].clone();
        files.insert(bad.clone(), replacement);
        let found = run(failures(&files));
        assert!(found[1].starts_with(&format!("{bad}: accepted as {{")), "{found:?}");
    }
}
