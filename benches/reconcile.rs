//! Reconciling a large account: the reconciler's CPU time, its RingCentral
//! calls and its DynamoDB calls, against moto (SNS, DynamoDB) and the
//! RingCentral stand-in of the tests, with the list's pacing set to zero.
//!
//! `cargo bench --bench reconcile` (or `make bench`) reconciles 10,000
//! numbers (`RECONCILE_NUMBERS`): a first run that takes the baseline, then,
//! after 10 numbers are created, 10 changed, 5 deleted and 5 reassigned away
//! in the stand-in, a second run that publishes those 30 corrections.
//! Under `cargo test --all-targets` it reconciles 30 numbers and checks the
//! counts: no timings there.
//!
//! A scan counts once however many pages DynamoDB returns. CPU is the reconciler's thread (`CLOCK_THREAD_CPUTIME_ID`): the runtime
//! is single-threaded, moto is another process and the stand-in serves from
//! threads of its own.

// moto as the cold-start benchmark starts it (keep-alive, tied to this process).
#[path = "cold_start/moto.rs"]
#[allow(dead_code)] // reading the inventory back is the cold-start benchmark's check
mod moto;
#[path = "cold_start/process.rs"]
#[allow(dead_code)] // the cold-start benchmark's /proc readers; this one only spawns
mod process;
#[path = "../tests/it/support/ringcentral_standin/mod.rs"]
#[allow(dead_code, unused_imports)] // the stand-in serves the tests; this bench uses a part of it
mod ringcentral_standin;

use cc_number_relay::change::{PhoneNumberId, Timestamp};
use cc_number_relay::config::Reconciliation;
use cc_number_relay::inventory::dynamodb::{DynamoInventory, SCAN_TIMEOUTS};
use cc_number_relay::inventory::{Inventory, InventoryError, Recorded, Told};
use cc_number_relay::reconcile::{Mode, Reconciler, Report};
use cc_number_relay::ringcentral::{
    Client, Credentials, Listing, PhoneNumbers, PhoneNumbersApi, RingCentralError, Secret, ServerUrl, Sleep,
};
use cc_number_relay::sink::aws::AwsSink;
use ringcentral_standin::phone_numbers::record;
use ringcentral_standin::StandIn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let numbers = if bench {
        std::env::var("RECONCILE_NUMBERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000)
    } else {
        30
    };
    if let Err(e) = start(numbers, bench) {
        eprintln!("reconcile: {e}");
        std::process::exit(1);
    }
}

/// Used by `moto`: the relay's token in its topology, the venv's location.
const TOKEN: &str = "ccNumberRelayLocalDemoToken2026x";

fn manifest_dir() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// moto with the three topics and the inventory table, then the runs.
fn start(numbers: u64, bench: bool) -> Result<(), String> {
    let moto = moto::Moto::start()?;
    let mut env = moto.topology()?;
    env.push(("INVENTORY_TABLE", moto.inventory_table()?));
    let config = Reconciliation::from_lookup(&|k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(run(numbers, bench, &moto.endpoint, config))
}

/// Counts what the reconciler asks of its ports.
#[derive(Default)]
struct Calls {
    list_pages: AtomicUsize,
    gets: AtomicUsize,
    reads: AtomicUsize,
    writes: AtomicUsize,
    scans: AtomicUsize,
}

struct Counted<'a, T>(&'a T, &'a Calls);

impl PhoneNumbersApi for Counted<'_, PhoneNumbers<'_>> {
    fn contact_center_numbers(&self, on_page: &mut dyn FnMut(u32, usize)) -> Result<Listing, RingCentralError> {
        let listing = self.0.contact_center_numbers(on_page)?;
        self.1.list_pages.fetch_add(listing.pages as usize, Ordering::Relaxed);
        Ok(listing)
    }
    fn number(&self, id: &PhoneNumberId) -> Result<Option<cc_number_relay::change::NumberState>, RingCentralError> {
        self.1.gets.fetch_add(1, Ordering::Relaxed);
        self.0.number(id)
    }
}

impl Inventory for Counted<'_, DynamoInventory> {
    async fn last_told(&self, id: &PhoneNumberId) -> Result<Option<Told>, InventoryError> {
        self.1.reads.fetch_add(1, Ordering::Relaxed);
        self.0.last_told(id).await
    }
    async fn record(&self, told: &Told) -> Result<Recorded, InventoryError> {
        self.1.writes.fetch_add(1, Ordering::Relaxed);
        self.0.record(told).await
    }
    async fn all(&self) -> Result<Vec<Told>, InventoryError> {
        self.1.scans.fetch_add(1, Ordering::Relaxed);
        self.0.all().await
    }
    async fn baseline(&self) -> Result<Option<Timestamp>, InventoryError> {
        self.1.reads.fetch_add(1, Ordering::Relaxed);
        self.0.baseline().await
    }
    async fn mark_baseline(&self, at: &Timestamp) -> Result<(), InventoryError> {
        self.1.writes.fetch_add(1, Ordering::Relaxed);
        self.0.mark_baseline(at).await
    }
}

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid pointer to a timespec on the stack.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

const CC: &str = "ContactCenterNumber";

fn e164(n: u64) -> String {
    format!("+1202{:07}", n)
}

async fn run(numbers: u64, bench: bool, endpoint: &str, config: Reconciliation) -> Result<(), String> {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region("us-east-1")
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .load()
        .await;

    let standin = StandIn::start();
    for id in 1..=numbers {
        standin.put_number(record(1_000_000 + id, &e164(id), CC));
    }
    let credentials = Credentials {
        server: ServerUrl::parse(&standin.url).map_err(|e| e.to_string())?,
        client_id: ringcentral_standin::CLIENT_ID.to_owned(),
        client_secret: Secret::new(ringcentral_standin::CLIENT_SECRET.to_owned()),
        jwt: Secret::new(ringcentral_standin::JWT.to_owned()),
    };
    let client = Client::new(credentials, Duration::from_secs(60), Box::new(Sleep)).map_err(|e| e.to_string())?;
    let api = PhoneNumbers {
        client: &client,
        page_interval: Duration::ZERO,
    };
    let inventory = DynamoInventory::new(&sdk, config.inventory_table.clone(), SCAN_TIMEOUTS);
    let sink = AwsSink::topics_only(&sdk, config.topics.clone());

    let mut lines = vec![format!(
        "reconcile: {numbers} Contact Center numbers, list pacing off; CPU of the reconciler's thread"
    )];
    let first = measure(&api, &inventory, &sink).await?;
    lines.push(first.line("first run (baseline)"));
    // RingCentral changes 30 numbers and tells nobody.
    let changed = (numbers / 10).clamp(1, 10);
    for k in 1..=changed {
        standin.put_number(record(2_000_000 + k, &e164(numbers + k), CC)); // created
        let mut moved = record(1_000_000 + k, &e164(k), CC);
        moved["status"] = "PortedIn".into();
        standin.put_number(moved); // changed
    }
    let half = (changed / 2).max(1);
    for k in 0..half {
        standin.remove_number(1_000_000 + numbers - k); // deleted
        standin.put_number(record(
            1_000_000 + numbers - half - k,
            &e164(numbers - half - k),
            "MainCompanyNumber",
        )); // reassigned
    }
    let second = measure(&api, &inventory, &sink).await?;
    lines.push(second.line("second run (corrections)"));
    let third = measure(&api, &inventory, &sink).await?;
    lines.push(third.line("third run (nothing to do)"));

    let expected = (changed * 2 + half * 2) as usize;
    if first.report.baselined != numbers as usize || !first.report.baseline_taken {
        return Err(format!(
            "the baseline run did not record every number: {}",
            first.report.line()
        ));
    }
    if second.report.published_total() != expected || third.report.published_total() != 0 {
        return Err(format!(
            "expected {expected} corrections then none: {} / {}",
            second.report.line(),
            third.report.line()
        ));
    }
    if bench {
        let table = lines.join("\n");
        println!("\n{table}");
        if let Some(summary) = std::env::var_os("PERF_SUMMARY").filter(|v| !v.is_empty()) {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(summary) {
                let _ = writeln!(f, "\n{table}");
            }
        }
    } else {
        println!("reconcile smoke: {numbers} numbers, {expected} corrections, then none: ok");
    }
    Ok(())
}

struct Measured {
    report: Report,
    cpu: Duration,
    wall: Duration,
    calls: Calls,
}

impl Measured {
    fn line(&self, what: &str) -> String {
        let c = &self.calls;
        format!(
            "  {what:<27} CPU {:>7.1} ms, wall {:>6.1} s; RingCentral: {} list pages, {} gets; DynamoDB: {} scans, {} reads, {} writes; {} {}",
            self.cpu.as_secs_f64() * 1000.0,
            self.wall.as_secs_f64(),
            c.list_pages.load(Ordering::Relaxed),
            c.gets.load(Ordering::Relaxed),
            c.scans.load(Ordering::Relaxed),
            c.reads.load(Ordering::Relaxed),
            c.writes.load(Ordering::Relaxed),
            if self.report.baseline_taken { "recorded as baseline" } else { "published" },
            self.report.published_total() + self.report.baselined
        )
    }
}

async fn measure(api: &PhoneNumbers<'_>, inventory: &DynamoInventory, sink: &AwsSink) -> Result<Measured, String> {
    let calls = Calls::default();
    let reconciler = Reconciler {
        api: &Counted(api, &calls),
        inventory: &Counted(inventory, &calls),
        sink,
        mode: Mode::Correct,
        dry_run: false,
    };
    let (cpu, wall) = (thread_cpu(), Instant::now());
    let report = reconciler
        .run(time::OffsetDateTime::now_utc(), |_| {})
        .await
        .map_err(|e| e.to_string())?;
    Ok(Measured {
        report,
        cpu: thread_cpu() - cpu,
        wall: wall.elapsed(),
        calls,
    })
}
