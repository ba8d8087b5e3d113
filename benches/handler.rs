//! Handler cost: what the relay does to one notification body, against the
//! floor of parsing the same bytes into a `serde_json::Value` and writing it back.
//!
//! `cargo bench --bench handler` (or `make bench`) measures; after criterion's
//! own report it prints each decode→encode median beside its budget. Under
//! `cargo test --all-targets` criterion runs every routine once and nothing is timed.
//!
//! - `decode`: `notification::decode` — parse the envelope and body, validate
//!   every rule, normalize into a `Change` (the three steps are one call).
//! - `encode`: `Change::to_json` — the SNS message body.
//! - `decode_encode`: both, bytes in, message out: the budgeted figure.
//! - `value_floor`: `serde_json::from_slice::<Value>` + `serde_json::to_vec`.
//!
//! And what serving many accounts costs a notification (`accounts` group,
//! `handler/accounts.rs`): `http::handle` on one Created
//! notification through a `RecordingSink`, no inventory, authenticated by
//! the single-account `Verifier` and by an `AccountVerifier` whose cache
//! already holds the notification's account (1,000 in the registry); then
//! both timed in interleaved rounds, their ratio printed beside its budget.

#[path = "handler/accounts.rs"]
mod accounts;

use cc_number_relay::notification::{decode, Inbound};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::path::{Path, PathBuf};

const KINDS: [&str; 3] = ["created", "updated", "deleted"];

/// The sample body of each kind (the Updated one is the number reassigned away,
/// as the figures in docs/performance.md were measured with).
fn file_of(kind: &str) -> &str {
    match kind {
        "updated" => "updated-reassigned-away",
        other => other,
    }
}

/// The budget: decode→encode within this multiple of the floor, and under this many ns.
const FLOOR_MULTIPLE: f64 = 2.0;
const ABSOLUTE_NS: f64 = 10_000.0;

fn body(kind: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("events/bodies/{}.json", file_of(kind)));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn change_of(bytes: &[u8]) -> Box<cc_number_relay::change::Change> {
    match decode(bytes) {
        Ok(Inbound::Change(change)) => change,
        other => panic!("sample body did not decode to a change: {other:?}"),
    }
}

fn handler(c: &mut Criterion) {
    for kind in KINDS {
        let bytes = body(kind);
        let change = change_of(&bytes);
        let mut group = c.benchmark_group(kind);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter("value_floor"), &bytes, |b, bytes| {
            b.iter(|| {
                let value: serde_json::Value = serde_json::from_slice(black_box(bytes)).unwrap();
                serde_json::to_vec(&value).unwrap()
            })
        });
        group.bench_with_input(BenchmarkId::from_parameter("decode"), &bytes, |b, bytes| {
            b.iter(|| decode(black_box(bytes)))
        });
        group.bench_with_input(BenchmarkId::from_parameter("encode"), &change, |b, change| {
            b.iter(|| black_box(change).to_json())
        });
        group.bench_with_input(BenchmarkId::from_parameter("decode_encode"), &bytes, |b, bytes| {
            b.iter(|| match decode(black_box(bytes)) {
                Ok(Inbound::Change(change)) => change.to_json(),
                _ => unreachable!(),
            })
        });
        group.finish();
    }
}

criterion_group!(benches, handler, accounts::handle_by_account);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--bench") {
        print_budgets();
        report(&accounts::interleaved_ratio());
    }
}

/// Criterion's median estimate (ns) for one benchmark of the run that just finished.
fn median_ns(criterion_dir: &Path, group: &str, id: &str) -> Option<f64> {
    let file = criterion_dir.join(group).join(id).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

fn print_budgets() {
    use std::fmt::Write;
    let dir = criterion_dir();
    let mut table = format!(
        "\nhandler cost: criterion medians; budget: decode_encode <= {FLOOR_MULTIPLE}x value_floor and <= {ABSOLUTE_NS} ns\n"
    );
    table.push_str("body      bytes  value_floor     decode     encode  decode_encode  x floor   verdict\n");
    for kind in KINDS {
        let m = |id| median_ns(&dir, kind, id);
        let (Some(floor), Some(dec), Some(enc), Some(both)) =
            (m("value_floor"), m("decode"), m("encode"), m("decode_encode"))
        else {
            let _ = writeln!(table, "{kind:<8} (no estimates in {}; filtered out?)", dir.display());
            continue;
        };
        let ratio = both / floor;
        let verdict = if ratio <= FLOOR_MULTIPLE && both <= ABSOLUTE_NS {
            "within"
        } else {
            "OVER BUDGET"
        };
        let _ = writeln!(
            table,
            "{kind:<8} {:>6} {:>9.0} ns {:>7.0} ns {:>7.0} ns {:>11.0} ns {:>7.2}x   {}",
            body(kind).len(),
            floor,
            dec,
            enc,
            both,
            ratio,
            verdict
        );
    }
    report(&table);
}

/// Prints `table`, and appends it to `PERF_SUMMARY` when `make bench` names one.
fn report(table: &str) {
    print!("{table}");
    if let Some(summary) = std::env::var_os("PERF_SUMMARY").filter(|v| !v.is_empty()) {
        use std::io::Write as _;
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut f| f.write_all(table.as_bytes()));
        if let Err(e) = appended {
            eprintln!("{}: {e}", PathBuf::from(summary).display());
        }
    }
}
