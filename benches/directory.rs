//! The example subscriber `cc-number-directory` (examples/number-directory)
//! against its peers, on this machine, as Lambda would run them: each binary
//! under a Runtime API emulator of its own (benches/cold_start/emulator.rs),
//! its stdout and stderr read from pipes, with DynamoDB on a local moto server
//! (benches/cold_start/moto.rs) behind a small counting proxy in this process,
//! which counts the requests whose `X-Amz-Target` is DynamoDB's.
//!
//! The subjects:
//! - `sqs-hello` (perf/peer-subscriber, `DIRECTORY_BENCH_HELLO`): a
//!   lambda_runtime hello-world answering `{"batchItemFailures":[]}`, the
//!   cold-start floor;
//! - `peer-subscriber` (perf/peer-subscriber, `DIRECTORY_BENCH_PEER`): a
//!   typical hand-written subscriber, the same conditional PutItem per change
//!   with the same SDK, without the kit;
//! - `cc-number-directory` (`DIRECTORY_BENCH_DIRECTORY`).
//!
//! Each of `DIRECTORY_BENCH_ROUNDS` (7) rounds starts the three in turn (the
//! order rotating from round to round): exec, init and one cold batch each,
//! while the others wait idle for their next event; then
//! `DIRECTORY_BENCH_WARM` (100) warm batches to each, in turn batch by batch,
//! so that the warm figures of a round are taken over the same minutes (this
//! machine's speed drifts by half within minutes: one subject's 100 batches
//! after another's gave paired ratios from 0.97 to 1.54). Each batch is 10
//! SQS messages (raw delivery, as the example's template.yaml subscribes)
//! carrying 10 new changes of new phone numbers, so every write is applied.
//! Every answer must be `{"batchItemFailures":[]}`, and after each round the
//! table must hold the last change each writer was sent.
//!
//! Figures: CPU of the whole process (all threads) through init and the first
//! batch (`/proc/<pid>/task/*/schedstat`, as the cold-start benchmark), warm
//! CPU per batch (schedstat when the process's threads were the same before and
//! after the warm batches, else `/proc/<pid>/stat`'s clock ticks), DynamoDB
//! calls per change. Budgets, as ratios to a peer measured in the same round:
//! warm CPU per batch of the directory <= 1.1x the peer's; CPU through init and
//! the first batch <= 2x the hello-world's; exactly one DynamoDB call per
//! change. Each ratio is the median of the rounds' ratios, printed with their
//! range and the ratio of the medians.
//!
//! `make bench` (perf/bench.sh) builds the three binaries and sets the
//! variables. `DIRECTORY_BENCH_LOG_LEVEL=warn` runs the functions with that
//! `AWS_LAMBDA_LOG_LEVEL` (Lambda's default is INFO), which silences the
//! directory's log line per applied change: what that line costs.
//!
//! Under `cargo test --all-targets` (no `--bench`) it is a smoke test when the
//! variables name the binaries: one round, two warm batches, the answers, the
//! table and the calls per change checked, no figures; without them it prints
//! SKIPPED and passes (nothing is checked then).

#[path = "cold_start/emulator.rs"]
mod emulator;
#[path = "cold_start/moto.rs"]
#[allow(dead_code)] // the relay's topics, queue and secret are the cold-start benchmark's
mod moto;
#[path = "cold_start/process.rs"]
#[allow(dead_code)] // peak RSS and run-to-exit are the cold-start benchmark's
mod process;

use emulator::RuntimeApiEmulator;
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);
/// Warm CPU per batch, relative to the hand-written peer's.
const WARM_BUDGET_MULTIPLE: f64 = 1.1;
/// CPU through init and the first batch, relative to the hello-world's.
const COLD_BUDGET_MULTIPLE: f64 = 2.0;
const BATCH: usize = 10;
/// Used by `moto` (the relay's topology, which this benchmark does not create).
const TOKEN: &str = "ccNumberRelayLocalDemoToken2026x";
const NO_FAILURES: &str = r#"{"batchItemFailures":[]}"#;

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let vars = [
        "DIRECTORY_BENCH_HELLO",
        "DIRECTORY_BENCH_PEER",
        "DIRECTORY_BENCH_DIRECTORY",
    ];
    let paths: Vec<Option<PathBuf>> = vars
        .iter()
        .map(|v| std::env::var_os(v).filter(|p| !p.is_empty()).map(PathBuf::from))
        .collect();
    let missing: Vec<String> = vars
        .iter()
        .zip(&paths)
        .filter_map(|(var, path)| match path {
            None => Some(format!("{var} is not set")),
            Some(p) if !p.is_file() => Some(format!("{var}={} does not exist", p.display())),
            Some(_) => None,
        })
        .collect();
    if !missing.is_empty() {
        // Named binaries that are missing are an error under `cargo bench`
        // (perf/bench.sh builds them); unset variables are not.
        let named_but_missing = paths.iter().any(|p| p.as_ref().is_some_and(|p| !p.is_file()));
        if bench && named_but_missing {
            eprintln!("directory: {}", missing.join("; "));
            std::process::exit(1);
        }
        println!(
            "directory: SKIPPED, nothing measured or checked: {}; build with `make bench` \
             (perf/bench.sh builds cc-number-directory, peer-subscriber and sqs-hello and sets \
             DIRECTORY_BENCH_DIRECTORY, DIRECTORY_BENCH_PEER and DIRECTORY_BENCH_HELLO)",
            missing.join("; ")
        );
        return;
    }
    let paths: Vec<PathBuf> = paths.into_iter().flatten().collect();
    let [hello, peer, directory] = [&paths[0], &paths[1], &paths[2]];
    let result = if bench {
        run(hello, peer, directory)
    } else {
        smoke(hello, peer, directory)
    };
    if let Err(e) = result {
        eprintln!("directory: {e}");
        std::process::exit(1);
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The environment Lambda gives a `provided.al2023` function (as the
/// cold-start benchmark's `lambda_env`), plus the directory's table; the SDK's
/// calls go to `endpoint`.
fn lambda_env(runtime_api: &str, endpoint: &str, table: &str) -> Vec<(String, String)> {
    [
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("_HANDLER", "bootstrap"),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/27/[$LATEST]0123456789abcdef"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "test"),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_ENDPOINT_URL", endpoint),
        ("DIRECTORY_TABLE", table),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain(
        // What the directory's log line per applied change costs: its level, for all three.
        std::env::var("DIRECTORY_BENCH_LOG_LEVEL")
            .ok()
            .filter(|v| !v.is_empty())
            .map(|level| ("AWS_LAMBDA_LOG_LEVEL".to_owned(), level)),
    )
    .collect()
}

/// SQS events of `BATCH` messages, each a new change of a new phone number
/// (so every conditional write applies), as Lambda's event source mapping
/// hands them over with raw message delivery: the change is the body, the
/// relay's message attributes are the SQS message's.
struct Batches {
    sent: Cell<u64>,
}

/// One event, and the last change in it (phone number id, notification id).
struct Batch {
    event: Vec<u8>,
    last: (String, String),
}

impl Batches {
    fn next(&self) -> Batch {
        let mut records = Vec::with_capacity(BATCH);
        let mut last = (String::new(), String::new());
        for _ in 0..BATCH {
            let n = self.sent.get();
            self.sent.set(n + 1);
            let change_type = ["Created", "Updated", "Deleted"][(n % 3) as usize];
            let id = format!("{}", 70_000_000_000 + n);
            let uuid = format!("00000000-0000-4000-8000-{n:012x}");
            assert!(n < 28 * 86_400, "more changes than distinct timestamps");
            let at = format!(
                "2026-02-{:02}T{:02}:{:02}:{:02}.000Z",
                1 + n / 86_400,
                n / 3_600 % 24,
                n / 60 % 60,
                n % 60
            );
            let body = serde_json::json!({
                "schemaVersion": 1, "changeType": change_type, "notificationId": uuid, "occurredAt": at,
                "accountId": "37439510", "subscriptionId": "sub-1", "ownerId": null,
                "phoneNumber": {"id": id, "e164": format!("+1202{:07}", n % 10_000_000), "uri": null,
                                "paymentType": "Local", "location": null, "type": "VoiceFax",
                                "usageType": "ContactCenterNumber", "status": "Normal"},
                "contactCenterProvider": {"id": "1", "name": "RingCX"}
            })
            .to_string();
            let attribute = |v: &str| serde_json::json!({"stringValue": v, "stringListValues": [], "binaryListValues": [], "dataType": "String"});
            let message_id = format!("3f0d6f4e-8c1a-4b7e-9d2f-{n:012x}");
            records.push(serde_json::json!({
                "messageId": message_id,
                "receiptHandle": format!("AQEB{}{n:016x}", "x".repeat(160)),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1", "SentTimestamp": "1769904000000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1769904000001"
                },
                "messageAttributes": {
                    "eventType": attribute(change_type), "phoneNumberId": attribute(&id),
                    "origin": attribute("webhook"), "stale": attribute("false"),
                    "usageType": attribute("ContactCenterNumber"), "accountId": attribute("37439510"),
                    "contactCenterProviderId": attribute("1")
                },
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:directory",
                "awsRegion": "us-east-1"
            }));
            last = (id, uuid);
        }
        Batch {
            event: serde_json::json!({ "Records": records }).to_string().into_bytes(),
            last,
        }
    }
}

/// What one run of one binary measured.
#[derive(Default)]
struct Run {
    /// CPU time at the first `/next`, and when the function asks for the
    /// event after the first batch.
    init_cpu: Duration,
    first_cpu: Duration,
    /// Per warm batch.
    warm_cpu: Duration,
    /// Whether `warm_cpu` came from schedstat (else clock ticks).
    warm_precise: bool,
    warm_wall_p50: Duration,
    /// What the proxy counted during the function's batches, and the changes sent.
    calls: Calls,
    changes: u64,
    /// Bytes the function wrote to stdout and stderr per batch (its logs, EMF).
    log_bytes_per_batch: u64,
}

/// A function running under an emulator of its own, its stdout and stderr
/// read from pipes (as Lambda reads them) into its log file.
struct Live<'a> {
    subject: &'a Subject<'a>,
    emulator: RuntimeApiEmulator,
    child: std::process::Child,
    pid: u32,
    log: PathBuf,
    pipes: Vec<std::thread::JoinHandle<()>>,
    logged: Arc<AtomicU64>,
    run: Run,
    /// The threads, schedstat CPU and clock-tick CPU when the warm batches began.
    warm_start: Option<(Vec<u32>, Duration, Duration)>,
    walls: Vec<Duration>,
    /// The last change sent (phone number id, notification id).
    last: (String, String),
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl<'a> Live<'a> {
    fn start(
        subject: &'a Subject<'a>,
        env: &dyn Fn(&str) -> Vec<(String, String)>,
        log: PathBuf,
    ) -> Result<Self, String> {
        let emulator = RuntimeApiEmulator::start().map_err(|e| e.to_string())?;
        let log_file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new(subject.binary);
        command
            .env_clear()
            .envs(env(&emulator.address()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = process::spawn_tied(&mut command).map_err(|e| format!("{}: {e}", subject.binary.display()))?;
        // This process's threads copy the pipes to the file: their CPU is not the function's.
        let log_file = Arc::new(std::sync::Mutex::new(log_file));
        let logged = Arc::new(AtomicU64::new(0));
        let pipes = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|mut pipe| {
            let (file, logged) = (log_file.clone(), logged.clone());
            std::thread::spawn(move || {
                let mut buffer = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                    logged.fetch_add(n as u64, Ordering::SeqCst);
                    let _ = file.lock().map(|mut f| f.write_all(&buffer[..n]));
                }
            })
        })
        .collect();
        Ok(Self {
            subject,
            emulator,
            pid: child.id(),
            child,
            log,
            pipes,
            logged,
            run: Run::default(),
            warm_start: None,
            walls: Vec::new(),
            last: Default::default(),
        })
    }

    /// Init and the first batch: their CPU.
    fn cold(&mut self, batches: &Batches, proxy: &CountingProxy) -> Result<(), String> {
        self.emulator.wait_for_next(TIMEOUT)?;
        self.run.init_cpu = process::cpu_time_precise(self.pid)?;
        self.batch(0, batches, proxy)?;
        // `invoke` returns once the function has asked for the next event.
        self.run.first_cpu = process::cpu_time_precise(self.pid)?;
        self.warm_start = Some((
            threads(self.pid)?,
            process::cpu_time_precise(self.pid)?,
            process::cpu_time(self.pid)?,
        ));
        Ok(())
    }

    /// One batch of new changes; its answer checked, its DynamoDB calls counted.
    fn batch(&mut self, n: usize, batches: &Batches, proxy: &CountingProxy) -> Result<(), String> {
        let batch = batches.next();
        let before = proxy.calls();
        let id = if n == 0 {
            "cold-0".to_owned()
        } else {
            format!("warm-{n}")
        };
        let invocation = self.emulator.invoke(&id, &batch.event, TIMEOUT)?;
        // Only this function is being invoked: what the proxy saw since is its.
        self.run.calls = self.run.calls.plus(proxy.calls().since(before));
        self.run.changes += BATCH as u64;
        self.last = batch.last;
        if n > 0 {
            self.walls.push(invocation.duration);
        }
        let answer: serde_json::Value = serde_json::from_slice(&invocation.response)
            .map_err(|e| format!("batch {n} of {}: not JSON: {e}", self.subject.name))?;
        let expected: serde_json::Value = serde_json::from_str(NO_FAILURES).expect("valid JSON");
        (answer == expected).then_some(()).ok_or_else(|| {
            format!(
                "batch {n} of {} answered {answer}, not {NO_FAILURES} (see {})",
                self.subject.name,
                self.log.display()
            )
        })
    }

    /// The warm batches' CPU, then the process ended and its logs collected.
    fn finish(mut self) -> Result<(Run, (String, String)), String> {
        let (threads_before, precise_before, ticks_before) = self.warm_start.take().ok_or("finish before cold")?;
        let (threads_after, precise_after, ticks_after) = (
            threads(self.pid)?,
            process::cpu_time_precise(self.pid)?,
            process::cpu_time(self.pid)?,
        );
        // schedstat counts only live threads: a thread that came or went
        // during the warm batches takes its time with it, which the ticks
        // (whole process, exited threads too) would show.
        let precise = precise_after.saturating_sub(precise_before);
        let ticks = ticks_after.saturating_sub(ticks_before);
        let warm = self.walls.len().max(1);
        self.run.warm_precise = threads_before == threads_after && ticks <= precise + process::clock_tick() * 2;
        self.run.warm_cpu = if self.run.warm_precise { precise } else { ticks } / warm as u32;
        self.walls.sort();
        self.run.warm_wall_p50 = self.walls.get(self.walls.len() / 2).copied().unwrap_or_default();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pipe in std::mem::take(&mut self.pipes) {
            let _ = pipe.join();
        }
        // Over the whole run (its few lines at init are in the cold batch's share).
        self.run.log_bytes_per_batch = self.logged.load(Ordering::SeqCst) / (warm as u64 + 1);
        if self.run.calls.unsupported > 0 {
            return Err("the counting proxy met a message it cannot frame (chunked): the counts are void".into());
        }
        Ok((std::mem::take(&mut self.run), std::mem::take(&mut self.last)))
    }
}

/// The ids of the process's threads.
fn threads(pid: u32) -> Result<Vec<u32>, String> {
    let dir = format!("/proc/{pid}/task");
    let mut ids: Vec<u32> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|t| t.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// One binary measured.
struct Subject<'a> {
    name: &'static str,
    binary: &'a Path,
    /// Whether it writes to the table (then the last change sent must be there).
    writes: bool,
}

/// What the benchmark needs running: moto, its table, the counting proxy.
struct Setup {
    moto: moto::Moto,
    table: String,
    proxy: CountingProxy,
}

impl Setup {
    fn start() -> Result<Self, String> {
        let moto = moto::Moto::start()?;
        // Key phoneNumberId (S), as the directory's table.
        let table = moto.inventory_table()?;
        let upstream = moto.endpoint.trim_start_matches("http://").to_owned();
        let proxy = CountingProxy::start(upstream).map_err(|e| format!("counting proxy: {e}"))?;
        Ok(Self { moto, table, proxy })
    }

    /// One round: each subject started in turn in `order` (exec, init, its
    /// first batch, while the others wait idle for their next event), then
    /// `warm` batches to each in turn, so that each warm figure is taken
    /// over the same minutes as the others; then the check that the table
    /// holds the last change each writer was sent.
    fn round(
        &self,
        subjects: &[Subject; 3],
        order: [usize; 3],
        batches: &Batches,
        warm: usize,
        log: &dyn Fn(&Subject) -> PathBuf,
    ) -> Result<[Run; 3], String> {
        let env = |api: &str| lambda_env(api, &self.proxy.endpoint, &self.table);
        let mut live: [Option<Live>; 3] = Default::default();
        for i in order {
            // Let earlier processes' exits and moto's side of their
            // connections finish first: on 2 cores they would run beside this one.
            std::thread::sleep(Duration::from_millis(100));
            let started = live[i].insert(Live::start(&subjects[i], &env, log(&subjects[i]))?);
            started.cold(batches, &self.proxy)?;
        }
        for n in 1..=warm {
            for k in 0..3 {
                let i = order[(k + n) % 3];
                live[i].as_mut().expect("started").batch(n, batches, &self.proxy)?;
            }
        }
        let mut runs: [Run; 3] = Default::default();
        for (i, function) in live.into_iter().enumerate() {
            let function = function.expect("started");
            let (subject, log) = (function.subject, function.log.clone());
            let (run, (id, uuid)) = function.finish()?;
            if subject.writes {
                let recorded = self.moto.recorded(&self.table, &id, "notificationId")?;
                if recorded.as_deref() != Some(uuid.as_str()) {
                    return Err(format!(
                        "{}: the table holds notification {recorded:?} for {id}, not the last one sent ({uuid}); see {}",
                        subject.name,
                        log.display()
                    ));
                }
            }
            runs[i] = run;
        }
        Ok(runs)
    }
}

fn subjects<'a>(hello: &'a Path, peer: &'a Path, directory: &'a Path) -> [Subject<'a>; 3] {
    [
        Subject {
            name: "sqs-hello",
            binary: hello,
            writes: false,
        },
        Subject {
            name: "peer-subscriber",
            binary: peer,
            writes: true,
        },
        Subject {
            name: "cc-number-directory",
            binary: directory,
            writes: true,
        },
    ]
}

fn log_dir() -> Result<PathBuf, String> {
    let dir = manifest_dir().join("target/perf/logs");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// `cargo test --all-targets`: one round of each, a cold batch and two warm
/// ones; the answers, the table and the calls per change checked; no figures.
fn smoke(hello: &Path, peer: &Path, directory: &Path) -> Result<(), String> {
    let setup = Setup::start()?;
    let out_dir = log_dir()?;
    let batches = Batches { sent: Cell::new(0) };
    let subjects = subjects(hello, peer, directory);
    let log = |s: &Subject| out_dir.join(format!("directory-smoke-{}.log", s.name));
    let runs = setup.round(&subjects, [0, 1, 2], &batches, 2, &log)?;
    let mut per_change = Vec::new();
    for (subject, run) in subjects.iter().zip(&runs) {
        let expected = if subject.writes { run.changes } else { 0 };
        if run.calls.requests != expected || run.calls.dynamodb != expected || run.calls.put_item != expected {
            return Err(format!(
                "{} made {} requests, {} DynamoDB calls ({} PutItem) for {} changes, not {expected}",
                subject.name, run.calls.requests, run.calls.dynamodb, run.calls.put_item, run.changes
            ));
        }
        per_change.push(format!("{} {:.2}", subject.name, run.calls.per_change(run.changes)));
    }
    println!(
        "directory: smoke test only (no figures, no budgets; those are `cargo bench --bench directory`): \
         sqs-hello, peer-subscriber and cc-number-directory each answered {NO_FAILURES} to a cold batch \
         and 2 warm batches of {BATCH} new changes against moto; DynamoDB calls per change: {}",
        per_change.join(", ")
    );
    Ok(())
}

fn run(hello: &Path, peer: &Path, directory: &Path) -> Result<(), String> {
    let rounds = env_number("DIRECTORY_BENCH_ROUNDS", 7).max(1);
    let warm = env_number("DIRECTORY_BENCH_WARM", 100).max(1);
    let setup = Setup::start()?;
    let out_dir = log_dir()?;
    let batches = Batches { sent: Cell::new(0) };
    let subjects = subjects(hello, peer, directory);
    println!(
        "directory: {rounds} rounds, each: the three started in turn (exec, init, 1 cold batch), then {warm} warm \
         batches to each in turn; every batch {BATCH} new changes;\n  \
         {}\n  DynamoDB: moto at {} behind a counting proxy at {}; table {}; function logs in {}",
        subjects
            .iter()
            .map(|s| format!("{}: {} ({} bytes)", s.name, s.binary.display(), size_of(s.binary)))
            .collect::<Vec<_>>()
            .join("\n  "),
        setup.moto.endpoint,
        setup.proxy.endpoint,
        setup.table,
        out_dir.display()
    );
    // One unmeasured round: the page cache, moto's first requests.
    let warmup = |s: &Subject| out_dir.join(format!("directory-{}-warmup.log", s.name));
    setup.round(&subjects, [0, 1, 2], &batches, 10, &warmup)?;
    println!(
        "\n{:<20} {:>5} {:>10} {:>12} {:>15} {:>14} {:>11} {:>11} {:>6}",
        "binary",
        "round",
        "init cpu",
        "cpu→1st batch",
        "warm cpu/batch",
        "warm wall p50",
        "DDB calls",
        "calls/chg",
        "conns"
    );
    let mut runs: [Vec<Run>; 3] = Default::default();
    for round in 1..=rounds {
        // Rotate which starts first (and so which gets each warm turn first).
        let order = [0, 1, 2].map(|k| (k + round) % 3);
        let log = |s: &Subject| out_dir.join(format!("directory-{}-{round}.log", s.name));
        let measured = setup.round(&subjects, order, &batches, warm, &log)?;
        for (i, r) in measured.into_iter().enumerate() {
            println!(
                "{:<20} {round:>5} {:>10} {:>12} {:>15} {:>14} {:>11} {:>11.2} {:>6}",
                subjects[i].name,
                ms(r.init_cpu),
                ms(r.first_cpu),
                format!("{}{}", us(r.warm_cpu), if r.warm_precise { "" } else { "*" }),
                ms(r.warm_wall_p50),
                r.calls.dynamodb,
                r.calls.per_change(r.changes),
                r.calls.connections
            );
            runs[i].push(r);
        }
    }
    let table = report(&runs, rounds, warm);
    print!("{table}");
    if let Some(summary) = std::env::var_os("PERF_SUMMARY").filter(|v| !v.is_empty()) {
        let summary = PathBuf::from(summary);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut f| f.write_all(table.as_bytes()))
            .map_err(|e| format!("{}: {e}", summary.display()))?;
    }
    Ok(())
}

/// The table: medians per subject, then the budgets' ratios with each round's range.
fn report(runs: &[Vec<Run>; 3], rounds: usize, warm: usize) -> String {
    let med = |f: &dyn Fn(&Run) -> Duration| runs.each_ref().map(|r| median(r.iter().map(f).collect()));
    let init_cpu = med(&|r| r.init_cpu);
    let first_cpu = med(&|r| r.first_cpu);
    let warm_cpu = med(&|r| r.warm_cpu);
    let wall = med(&|r| r.warm_wall_p50);
    let per_change = runs.each_ref().map(|r| {
        let (calls, changes) = r
            .iter()
            .fold((0, 0), |(c, n), run| (c + run.calls.dynamodb, n + run.changes));
        calls as f64 / changes.max(1) as f64
    });
    let put_items = runs.each_ref().map(|r| {
        let (calls, changes) = r
            .iter()
            .fold((0, 0), |(c, n), run| (c + run.calls.put_item, n + run.changes));
        calls as f64 / changes.max(1) as f64
    });
    let log_bytes = runs.each_ref().map(|r| {
        let mut v: Vec<u64> = r.iter().map(|run| run.log_bytes_per_batch).collect();
        v.sort();
        v[v.len() / 2]
    });
    let imprecise: usize = runs.iter().flatten().filter(|r| !r.warm_precise).count();
    let word = |ok: bool| if ok { "within" } else { "OVER BUDGET" };
    let mut out = format!(
        "\nthe example subscriber against its peers: medians of {rounds} rounds ({} per batch of {BATCH} changes; warm: /{warm} batches)\n\
         {:<44} {:>12} {:>16} {:>20}   {:<34} {}\n",
        "CPU: all threads, schedstat",
        "figure",
        "sqs-hello",
        "peer-subscriber",
        "cc-number-directory",
        "budget (directory)",
        "verdict"
    );
    let row = |out: &mut String, figure: &str, values: [String; 3], budget: &str, verdict: &str| {
        out.push_str(&format!(
            "{figure:<44} {:>12} {:>16} {:>20}   {budget:<34} {verdict}\n",
            values[0], values[1], values[2]
        ));
    };
    row(
        &mut out,
        "init CPU (exec to the first /next)",
        init_cpu.map(ms),
        "-",
        "",
    );
    row(
        &mut out,
        "CPU through init and the first batch",
        first_cpu.map(ms),
        &format!(
            "<= {COLD_BUDGET_MULTIPLE}x hello = {}",
            ms(first_cpu[0].mul_f64(COLD_BUDGET_MULTIPLE))
        ),
        word(first_cpu[2] <= first_cpu[0].mul_f64(COLD_BUDGET_MULTIPLE)),
    );
    row(
        &mut out,
        "warm CPU per batch",
        warm_cpu.map(us),
        &format!(
            "<= {WARM_BUDGET_MULTIPLE}x peer = {}",
            us(warm_cpu[1].mul_f64(WARM_BUDGET_MULTIPLE))
        ),
        word(warm_cpu[2] <= warm_cpu[1].mul_f64(WARM_BUDGET_MULTIPLE)),
    );
    row(
        &mut out,
        "  per change",
        warm_cpu.map(|c| us(c / BATCH as u32)),
        &format!(
            "directory - peer = {:+.0} µs",
            (warm_cpu[2].as_secs_f64() - warm_cpu[1].as_secs_f64()) * 1e6 / BATCH as f64
        ),
        "",
    );
    row(&mut out, "warm batch, wall p50 (includes moto)", wall.map(ms), "-", "");
    row(
        &mut out,
        "DynamoDB calls per change (all runs)",
        per_change.map(|c| format!("{c:.3}")),
        "= 1",
        word(per_change[2] == 1.0),
    );
    row(
        &mut out,
        "  of which PutItem",
        put_items.map(|c| format!("{c:.3}")),
        "-",
        "",
    );
    row(
        &mut out,
        "stdout+stderr bytes per batch (pipes)",
        log_bytes.map(|b| format!("{b} B")),
        "-",
        "",
    );
    // Paired in each round (same minutes of the machine's drift).
    let ratios = |f: &dyn Fn(&Run) -> Duration, (a, b): (usize, usize)| -> Vec<f64> {
        runs[a]
            .iter()
            .zip(&runs[b])
            .map(|(x, y)| f(x).as_secs_f64() / f(y).as_secs_f64().max(1e-9))
            .collect()
    };
    let warm_ratios = ratios(&|r| r.warm_cpu, (2, 1));
    let cold_ratios = ratios(&|r| r.first_cpu, (2, 0));
    let peer_cold_ratios = ratios(&|r| r.first_cpu, (1, 0));
    let cold_against_peer = ratios(&|r| r.first_cpu, (2, 1));
    out.push_str(&format!(
        "\nratios, paired by round: the median of the {rounds} rounds' ratios, their range, the ratio of the medians above\n\
         {:<44} {:>8} {:>15} {:>10}   {:<12} {}\n",
        "ratio", "median", "range", "of medians", "budget", "verdict"
    ));
    let of_medians = |[a, b]: [Duration; 2]| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    for (name, ratios, of_medians, budget) in [
        (
            "directory / peer, warm CPU per batch",
            &warm_ratios,
            of_medians([warm_cpu[2], warm_cpu[1]]),
            Some(WARM_BUDGET_MULTIPLE),
        ),
        (
            "directory / hello, CPU through 1st batch",
            &cold_ratios,
            of_medians([first_cpu[2], first_cpu[0]]),
            Some(COLD_BUDGET_MULTIPLE),
        ),
        // For scale (no budgets): the hand-written peer's cold start, with
        // the same SDK configuration, against the same floor; the directory's against it.
        (
            "  peer / hello, CPU through 1st batch",
            &peer_cold_ratios,
            of_medians([first_cpu[1], first_cpu[0]]),
            None,
        ),
        (
            "  directory / peer, CPU through 1st batch",
            &cold_against_peer,
            of_medians([first_cpu[2], first_cpu[1]]),
            None,
        ),
    ] {
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        out.push_str(&format!(
            "{name:<44} {median:>8.2} {:>15} {of_medians:>10.2}   {:<12} {}\n",
            format!("{:.2}–{:.2}", sorted[0], sorted[sorted.len() - 1]),
            budget.map_or("-".to_owned(), |b| format!("<= {b}x")),
            budget.map_or("", |b| word(median <= b))
        ));
    }
    if imprecise > 0 {
        out.push_str(&format!(
            "(* {imprecise} runs' warm CPU from clock ticks, {} each: a thread came or went during the warm batches)\n",
            us(process::clock_tick())
        ));
    }
    out
}

/// The DynamoDB requests the functions made, counted by the proxy.
#[derive(Debug, Clone, Copy, Default)]
struct Calls {
    requests: u64,
    dynamodb: u64,
    put_item: u64,
    /// Messages the proxy could not frame (chunked bodies): the counts are then void.
    unsupported: u64,
    /// TCP connections the functions opened to it.
    connections: u64,
}

impl Calls {
    fn since(self, earlier: Calls) -> Calls {
        Calls {
            requests: self.requests - earlier.requests,
            dynamodb: self.dynamodb - earlier.dynamodb,
            put_item: self.put_item - earlier.put_item,
            unsupported: self.unsupported - earlier.unsupported,
            connections: self.connections - earlier.connections,
        }
    }

    fn plus(self, more: Calls) -> Calls {
        Calls {
            requests: self.requests + more.requests,
            dynamodb: self.dynamodb + more.dynamodb,
            put_item: self.put_item + more.put_item,
            unsupported: self.unsupported + more.unsupported,
            connections: self.connections + more.connections,
        }
    }

    fn per_change(self, changes: u64) -> f64 {
        self.dynamodb as f64 / changes.max(1) as f64
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    dynamodb: AtomicU64,
    put_item: AtomicU64,
    unsupported: AtomicU64,
    connections: AtomicU64,
}

/// An HTTP/1.1 proxy on loopback in front of moto that counts the requests
/// by their `X-Amz-Target`. Each client connection is kept alive and gets
/// a connection of its own to moto (whose keep-alive front keeps it too);
/// requests and answers are forwarded verbatim, framed by `Content-Length`.
/// Its CPU is this process's, not the function's.
struct CountingProxy {
    endpoint: String,
    counters: Arc<Counters>,
}

impl CountingProxy {
    fn start(upstream: String) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let (counters, upstream) = (shared.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = forward(client, &upstream, &counters);
                });
            }
        });
        Ok(Self { endpoint, counters })
    }

    fn calls(&self) -> Calls {
        let c = &self.counters;
        Calls {
            requests: c.requests.load(Ordering::SeqCst),
            dynamodb: c.dynamodb.load(Ordering::SeqCst),
            put_item: c.put_item.load(Ordering::SeqCst),
            unsupported: c.unsupported.load(Ordering::SeqCst),
            connections: c.connections.load(Ordering::SeqCst),
        }
    }
}

/// One client connection: read a request, count it, forward it, relay the answer, repeat.
fn forward(client: TcpStream, upstream: &str, counters: &Counters) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let mut to_client = client.try_clone()?;
    let mut from_client = BufReader::new(client);
    let mut moto: Option<(TcpStream, BufReader<TcpStream>)> = None;
    loop {
        let Some(request) = read_message(&mut from_client, true, counters)? else {
            return Ok(());
        };
        counters.requests.fetch_add(1, Ordering::SeqCst);
        if let Some(target) = request.header("x-amz-target") {
            if target.starts_with("DynamoDB_20120810.") {
                counters.dynamodb.fetch_add(1, Ordering::SeqCst);
            }
            if target == "DynamoDB_20120810.PutItem" {
                counters.put_item.fetch_add(1, Ordering::SeqCst);
            }
        }
        if moto.is_none() {
            let stream = TcpStream::connect(upstream)?;
            stream.set_nodelay(true)?;
            let reader = BufReader::new(stream.try_clone()?);
            moto = Some((stream, reader));
        }
        let (to_moto, from_moto) = moto.as_mut().expect("connected above");
        to_moto.write_all(&request.bytes)?;
        let Some(answer) = read_message(from_moto, false, counters)? else {
            return Ok(());
        };
        to_client.write_all(&answer.bytes)?;
        if request.close || answer.close {
            return Ok(());
        }
    }
}

/// An HTTP/1.1 message, as read (head and body, verbatim).
struct Message {
    bytes: Vec<u8>,
    head_end: usize,
    /// The connection ends after it (`Connection: close`, or a body to EOF).
    close: bool,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        std::str::from_utf8(&self.bytes[..self.head_end])
            .ok()?
            .split("\r\n")
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

fn read_message(
    reader: &mut BufReader<TcpStream>,
    request: bool,
    counters: &Counters,
) -> std::io::Result<Option<Message>> {
    let mut bytes = Vec::new();
    loop {
        let start = bytes.len();
        if reader.read_until(b'\n', &mut bytes)? == 0 {
            return Ok(None);
        }
        if bytes[start..].trim_ascii().is_empty() {
            break;
        }
    }
    let mut message = Message {
        head_end: bytes.len(),
        bytes,
        close: false,
    };
    let length = message.header("content-length").and_then(|v| v.parse::<usize>().ok());
    let chunked = message
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    message.close = message
        .header("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    if chunked {
        counters.unsupported.fetch_add(1, Ordering::SeqCst);
        return Err(std::io::Error::other("chunked message"));
    }
    match length {
        Some(length) => {
            let start = message.bytes.len();
            message.bytes.resize(start + length, 0);
            reader.read_exact(&mut message.bytes[start..])?;
        }
        // A request without a length has no body; an answer runs to EOF.
        None if request => {}
        None => {
            reader.read_to_end(&mut message.bytes)?;
            message.close = true;
        }
    }
    Ok(Some(message))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}
