//! Cold start, warm invocations, CPU and memory of the release `bootstrap`,
//! side by side with its peers, all run in the same benchmark, interleaved,
//! against a local Lambda Runtime API emulator (see `emulator.rs`), with SNS,
//! DynamoDB and Secrets Manager on a local moto server:
//! - `hello-world`: a minimal `lambda_http` function (perf/hello), the floor;
//! - `relay`: the relay with the token in its environment, no inventory
//!   (one Publish per notification);
//! - `relay-deployed`: the relay as the stack deploys it: the token read from
//!   Secrets Manager at cold start, `INVENTORY_TABLE` naming a table in moto,
//!   `ACCOUNTS_TABLE` an empty registry (the notifications are the default account's)
//!   (per notification a GetItem, the Publish and a conditional PutItem);
//! - `typical-relay`: a typical hand-written Rust relay making the same AWS
//!   calls with default client settings, no validation, no metrics
//!   (perf/peer-relay), with the same environment. The warm budget is the
//!   deployed relay's CPU per notification against this one's.
//!
//! Every invocation gets a notification of its own (the created, updated and
//! deleted events in turn, each with a new uuid, a new phone number id and a
//! timestamp one second after the previous one's), so that with the inventory
//! none is a duplicate or stale and the read finds nothing: each is published
//! and recorded. After each measured run with the inventory the benchmark
//! reads the table back and checks that the last notification sent is the
//! one recorded; the inventory calls that failed (the relay then publishes as
//! without one) are counted from its log, and the AWS requests per warm
//! invocation are counted at moto.
//!
//! Run it with `make bench` (perf/bench.sh builds the binaries and sets
//! `COLD_START_RELAY`, `COLD_START_HELLO` and `COLD_START_TYPICAL`). Under `cargo test --all-targets`
//! it only checks that the emulator drives the relay binary through one
//! handshake: no timings there.
//!
//! For each binary and each repetition it records:
//! - init: exec to the first `GET /invocation/next`;
//! - the first invocation and the warm ones: event written to response read;
//! - the process's CPU time (all threads, `/proc/<pid>/task/*/schedstat`, in
//!   nanoseconds) through init (at that first `/next`) and through the first
//!   invocation (when it asks for the second event): what a cold start costs,
//!   robust to a shared machine where wall time is not. Its rows are the medians
//!   of `COLD_START_COLD_REPS` (21) further cold starts of each binary,
//!   in turn, each ended after its first invocation;
//! - CPU (user+sys, /proc/<pid>/stat) over `COLD_START_WARM` warm invocations;
//! - peak RSS (VmHWM) after them.
//!
//! Medians over `COLD_START_REPS` repetitions are printed beside the budgets.
//!
//! Then, where the relay's cold-start CPU goes: each binary run to its exit
//! with no environment (loading the binary, std and tracing start-up: the cost
//! of its size), and, when `COLD_START_STEPS` names the perf/steps probe, the
//! steps of the relay's `main` one by one (see perf/steps/src/main.rs),
//! without and as deployed (its step "inventory client" is then the
//! DynamoDB client's own cost).
//!
//! With `COLD_START_STEPS_PARTS=1` the probe also times the pieces an SDK client
//! is built from (`--parts`), before the relay's own steps. With
//! `COLD_START_XRAY=1` every invocation is sampled and the functions send their
//! X-Ray subsegments to a local UDP socket, as with `Tracing: Active`.

mod emulator;
mod moto;
mod process;

use emulator::RuntimeApiEmulator;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);
const INIT_BUDGET_MULTIPLE: f64 = 1.3;
/// CPU through the end of the first invocation, relative to the hello-world's
/// (the relay); the relay as deployed is held to the typical relay's, which
/// makes the same start-up read and calls (issue 20).
const FIRST_CPU_BUDGET_MULTIPLE: f64 = 2.0;
const PEAK_RSS_BUDGET: u64 = 30_000_000;
const TOKEN: &str = "ccNumberRelayLocalDemoToken2026x";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        smoke();
        return;
    }
    let names = ["COLD_START_RELAY", "COLD_START_HELLO", "COLD_START_TYPICAL"];
    let [Some(relay), Some(hello), Some(typical)] = names.map(env_path) else {
        eprintln!(
            "cold_start: {} must name the binaries; `make bench` (perf/bench.sh) builds them and sets them",
            names.join(", ")
        );
        std::process::exit(2);
    };
    if let Err(e) = run(&relay, &hello, &typical) {
        eprintln!("cold_start: {e}");
        std::process::exit(1);
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The API Gateway events in `events/`, as Lambda would hand them over.
fn event(name: &str) -> Vec<u8> {
    let path = manifest_dir().join(format!("events/{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The notification events in turn, each made a notification of its own: a
/// new uuid (same length) and a timestamp one second after the previous
/// event's (same format), written over the template's in the API Gateway
/// event's body (a JSON string, so the values appear there verbatim).
struct Notifications {
    templates: Vec<Template>,
    sent: std::cell::Cell<u64>,
}

struct Template {
    event: String,
    uuid: String,
    timestamp: String,
    phone_number_id: String,
}

/// One event to invoke with, and the ids it carries.
struct Notification {
    event: Vec<u8>,
    uuid: String,
    phone_number_id: String,
}

impl Notifications {
    fn load(names: &[&str]) -> Result<Self, String> {
        let templates = names
            .iter()
            .map(|name| {
                let event = String::from_utf8(event(name)).map_err(|e| format!("{name}: {e}"))?;
                let api: serde_json::Value = serde_json::from_str(&event).map_err(|e| format!("{name}: {e}"))?;
                let body: serde_json::Value = serde_json::from_str(api["body"].as_str().unwrap_or(""))
                    .map_err(|e| format!("{name}: body: {e}"))?;
                let field = |key: &str| -> Result<String, String> {
                    let value = body[key].as_str().unwrap_or("").to_owned();
                    if value.is_empty() || event.matches(&value).count() != 1 {
                        return Err(format!("events/{name}.json: its {key} must appear exactly once"));
                    }
                    Ok(value)
                };
                let phone_number_id = match &body["body"]["phoneNumberInfo"]["id"] {
                    serde_json::Value::String(id) => id.clone(),
                    serde_json::Value::Number(id) => id.to_string(),
                    _ => return Err(format!("events/{name}.json: no phoneNumberInfo.id")),
                };
                // Replaced wherever it appears (the id and the uri): it must appear nowhere else.
                let in_body = api["body"].as_str().unwrap_or("").matches(&phone_number_id).count();
                if phone_number_id.len() < 6 || event.matches(&phone_number_id).count() != in_body {
                    return Err(format!(
                        "events/{name}.json: its phone number id must be 6+ digits, only in the body"
                    ));
                }
                Ok(Template {
                    uuid: field("uuid")?,
                    timestamp: field("timestamp")?,
                    phone_number_id,
                    event,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            templates,
            sent: std::cell::Cell::new(0),
        })
    }

    fn next(&self) -> Notification {
        let n = self.sent.get();
        self.sent.set(n + 1);
        let template = &self.templates[(n % self.templates.len() as u64) as usize];
        // 2026-02-01T00:00:00Z plus n seconds, for 28 days' worth of invocations.
        assert!(n < 28 * 86_400, "more invocations than distinct timestamps");
        let millis = if template.timestamp.contains('.') { ".000" } else { "" };
        let timestamp = format!(
            "2026-02-{:02}T{:02}:{:02}:{:02}{millis}Z",
            1 + n / 86_400,
            n / 3_600 % 24,
            n / 60 % 60,
            n % 60
        );
        let uuid = format!("00000000-0000-4000-8000-{n:012x}");
        // A new number each time (same length: a 1, then n), as a relay sees
        // numbers it has not recorded yet: the inventory's read finds nothing.
        let width = template.phone_number_id.len() - 1;
        assert!(
            n < 10u64.pow(width as u32),
            "more invocations than distinct phone number ids"
        );
        let phone_number_id = format!("1{n:0width$}");
        let event = template
            .event
            .replacen(&template.uuid, &uuid, 1)
            .replacen(&template.timestamp, &timestamp, 1)
            .replace(&template.phone_number_id, &phone_number_id);
        Notification {
            event: event.into_bytes(),
            uuid,
            phone_number_id,
        }
    }
}

/// The environment Lambda gives a `provided.al2023` function, less what only
/// AWS has, plus the relay's own variables (the hello-world ignores them).
fn lambda_env(runtime_api: &str, endpoint: &str, topology: &[(&'static str, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.push(("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.into()));
    env.push(("AWS_ENDPOINT_URL".into(), endpoint.into()));
    if let Some(daemon) = xray_daemon() {
        env.push(("AWS_XRAY_DAEMON_ADDRESS".into(), daemon));
    }
    env.extend(topology.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    env
}

/// With `COLD_START_XRAY=1`, invocations arrive sampled (the emulator's trace
/// header says `Sampled=1`) and the functions send their X-Ray subsegments to
/// a UDP socket bound here that never reads them, as Lambda's daemon beside
/// the function would take them: what `Tracing: Active` costs a sampled
/// invocation. Off by default, as in the figures before it existed.
fn xray_daemon() -> Option<String> {
    static DAEMON: std::sync::OnceLock<Option<std::net::UdpSocket>> = std::sync::OnceLock::new();
    DAEMON
        .get_or_init(|| {
            std::env::var_os("COLD_START_XRAY")?;
            std::net::UdpSocket::bind("127.0.0.1:0").ok()
        })
        .as_ref()
        .and_then(|socket| socket.local_addr().ok())
        .map(|address| address.to_string())
}

/// `cargo test --all-targets`: one handshake through the emulator, no AWS needed.
fn smoke() {
    let topology = [
        (
            "CREATED_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:created".to_owned(),
        ),
        (
            "UPDATED_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:updated".to_owned(),
        ),
        (
            "DELETED_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:deleted".to_owned(),
        ),
        (
            "DEAD_LETTER_QUEUE_URL",
            "http://127.0.0.1:9/123456789012/dlq".to_owned(),
        ),
        ("VERIFICATION_TOKEN", TOKEN.to_owned()),
    ];
    let mut emulator = RuntimeApiEmulator::start().unwrap();
    let env = lambda_env(&emulator.address(), "http://127.0.0.1:9", &topology);
    let mut child = process::spawn_tied(
        Command::new(env!("CARGO_BIN_EXE_cc-number-relay"))
            .env_clear()
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap();
    let result = emulator.invoke("smoke-1", &event("handshake"), TIMEOUT);
    let _ = child.kill();
    let _ = child.wait();
    let answer: serde_json::Value = serde_json::from_slice(&result.unwrap().response).unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        answer["headers"]["validation-token"], "a1b2c3d4-handshake-token",
        "{answer}"
    );
    // The events the benchmark invokes with: each a notification of its own.
    let notifications = Notifications::load(&["created", "updated-reassigned-away", "deleted"]).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut last = String::new();
    for _ in 0..7 {
        let sent = notifications.next();
        let api: serde_json::Value = serde_json::from_slice(&sent.event).unwrap();
        let body: serde_json::Value = serde_json::from_str(api["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["uuid"], sent.uuid.as_str());
        let at = body["timestamp"].as_str().unwrap().to_owned();
        assert!(at > last, "{at} is not after {last}");
        assert!(seen.insert(sent.uuid));
        let info = &body["body"]["phoneNumberInfo"];
        // A string in some events, a number in others (RingCentral sends both).
        let id = info["id"]
            .as_str()
            .map_or_else(|| info["id"].to_string(), str::to_owned);
        assert_eq!(id, sent.phone_number_id);
        assert!(info["uri"].as_str().unwrap().ends_with(&sent.phone_number_id), "{info}");
        assert!(seen.insert(sent.phone_number_id));
        last = at;
    }
    println!(
        "cold_start: the Runtime API emulator drove one handshake through the relay (timings only under `make bench`)"
    );
}

/// What one run of one binary measured.
struct Run {
    init: Duration,
    first: Duration,
    /// CPU time at the first `/next`, and when the function asks for the second event.
    init_cpu: Duration,
    first_cpu: Duration,
    warm_median: Duration,
    warm_p99: Duration,
    warm_cpu: Duration,
    peak_rss: u64,
    /// The phone number id and the notification id of the last event sent.
    last_sent: (String, String),
    /// Inventory calls that failed (the relay logs each, then publishes as without one).
    inventory_failures: usize,
    /// AWS requests per warm invocation, counted at moto (when it counts them).
    warm_requests: Option<f64>,
}

/// The relay's warning when an inventory call fails (src/publish.rs).
const INVENTORY_FAILED: &str = "publishing as if there were no inventory";

/// Starts `binary` under a fresh emulator, invokes it once cold and `warm`
/// times warm with the next of `events` each, and reads its CPU time and peak RSS.
fn measure(
    binary: &Path,
    env: &dyn Fn(&str) -> Vec<(String, String)>,
    events: &Notifications,
    warm: usize,
    expect_in_body: &str,
    log: &Path,
    requests: &dyn Fn() -> Option<u64>,
) -> Result<Run, String> {
    let mut emulator = RuntimeApiEmulator::start().map_err(|e| e.to_string())?;
    let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(env(&emulator.address()))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file);
    let started = Instant::now();
    let mut child = process::spawn_tied(&mut command).map_err(|e| format!("{}: {e}", binary.display()))?;
    let pid = child.id();
    let result: Result<Run, String> = (|| {
        let init = emulator.wait_for_next(TIMEOUT)?.saturating_duration_since(started);
        let init_cpu = process::cpu_time_precise(pid)?;
        let check = |n: usize, invocation: &emulator::Invocation| -> Result<(), String> {
            let answer: serde_json::Value = serde_json::from_slice(&invocation.response).map_err(|e| e.to_string())?;
            let ok = answer["statusCode"] == 200 && answer["body"].as_str().unwrap_or("").contains(expect_in_body);
            ok.then_some(()).ok_or_else(|| {
                format!(
                    "invocation {n} of {} answered {answer} (see {})",
                    binary.display(),
                    log.display()
                )
            })
        };
        let mut sent = events.next();
        let first = emulator.invoke("cold-0", &sent.event, TIMEOUT)?;
        check(0, &first)?;
        // `invoke` returns once the function has asked for the next event.
        let first_cpu = process::cpu_time_precise(pid)?;
        if warm == 0 {
            // A cold start only: what the CPU rows are the medians of.
            return Ok(Run {
                init,
                first: first.duration,
                init_cpu,
                first_cpu,
                warm_median: Duration::ZERO,
                warm_p99: Duration::ZERO,
                warm_cpu: Duration::ZERO,
                peak_rss: 0,
                last_sent: (sent.phone_number_id, sent.uuid),
                inventory_failures: 0,
                warm_requests: None,
            });
        }
        let requests_before = requests();
        let cpu_before = process::cpu_time(pid)?;
        let mut durations = Vec::with_capacity(warm);
        for n in 1..=warm {
            sent = events.next();
            let invocation = emulator.invoke(&format!("warm-{n}"), &sent.event, TIMEOUT)?;
            check(n, &invocation)?;
            durations.push(invocation.duration);
        }
        let cpu_after = process::cpu_time(pid)?;
        let requests_after = requests();
        let peak_rss = process::peak_rss(pid)?;
        durations.sort();
        Ok(Run {
            init,
            first: first.duration,
            init_cpu,
            first_cpu,
            warm_median: durations[durations.len() / 2],
            warm_p99: durations[(durations.len() * 99 / 100).min(durations.len() - 1)],
            warm_cpu: (cpu_after - cpu_before) / warm as u32,
            peak_rss,
            last_sent: (sent.phone_number_id, sent.uuid),
            inventory_failures: 0,
            warm_requests: requests_before
                .zip(requests_after)
                .map(|(before, after)| after.saturating_sub(before) as f64 / warm as f64),
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    let mut run = result?;
    let logged = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
    run.inventory_failures = logged.matches(INVENTORY_FAILED).count();
    Ok(run)
}

/// A function's environment, given the Runtime API's address.
type EnvFn<'a> = dyn Fn(&str) -> Vec<(String, String)> + 'a;

/// One configuration measured: a binary and the environment it is started with.
struct Subject<'a> {
    name: &'static str,
    binary: &'a Path,
    /// What each answer's body must contain.
    expect: &'static str,
    env: &'a dyn Fn(&str) -> Vec<(String, String)>,
    /// With the inventory: the attribute of its item that holds the notification id.
    recorded_as: Option<&'static str>,
}

const PUBLISHED: &str = r#""status":"published""#;

/// The columns of the main table, in order.
const HELLO: usize = 0;
const RELAY: usize = 1;
const DEPLOYED: usize = 2;
const TYPICAL: usize = 3;

/// The warm CPU per notification of the relay as deployed, relative to the typical full relay's.
const WARM_CPU_BUDGET_MULTIPLE: f64 = 1.1;

fn run(relay: &Path, hello: &Path, typical: &Path) -> Result<(), String> {
    let reps = env_number("COLD_START_REPS", 5).max(1);
    let warm = env_number("COLD_START_WARM", 1000).max(1);
    let out_dir = manifest_dir().join("target/perf/logs");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;

    let moto = moto::Moto::start()?;
    let topology = moto.topology()?;
    let table = moto.inventory_table()?;
    let accounts = moto.accounts_table()?;
    let secret = moto.token_secret()?;
    let endpoint = moto.endpoint.clone();
    let env = |api: &str| lambda_env(api, &endpoint, &topology);
    // As deployed: the token in Secrets Manager (read at cold start), the inventory table.
    let mut deployed: Vec<(&'static str, String)> = topology
        .iter()
        .filter(|(k, _)| *k != "VERIFICATION_TOKEN")
        .cloned()
        .collect();
    deployed.push(("VERIFICATION_TOKEN_SECRET_ARN", secret));
    deployed.push(("INVENTORY_TABLE", table.clone()));
    // As the template deploys every stack: able to serve registered accounts.
    deployed.push(("ACCOUNTS_TABLE", accounts));
    let env_deployed = |api: &str| lambda_env(api, &endpoint, &deployed);
    let events = Notifications::load(&["created", "updated-reassigned-away", "deleted"])?;

    let subjects = [
        Subject {
            name: "hello-world",
            binary: hello,
            expect: "hello",
            env: &env,
            recorded_as: None,
        },
        Subject {
            name: "relay",
            binary: relay,
            expect: PUBLISHED,
            env: &env,
            recorded_as: None,
        },
        Subject {
            name: "relay-deployed",
            binary: relay,
            expect: PUBLISHED,
            env: &env_deployed,
            recorded_as: Some("notificationId"),
        },
        Subject {
            name: "typical-relay",
            binary: typical,
            expect: PUBLISHED,
            env: &env_deployed,
            recorded_as: Some("uuid"),
        },
    ];
    // COLD_START_EXTRA: a fifth function measured in turn with the others, as
    // deployed plus the variables in COLD_START_EXTRA_ENV (`K=V K=V`): for
    // trying a variant of a peer or of the relay against both in one run.
    let extra_env: Vec<(&'static str, String)> = std::env::var("COLD_START_EXTRA_ENV")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (&*Box::leak(k.to_owned().into_boxed_str()), v.to_owned()))
        .chain(deployed.iter().cloned())
        .collect();
    let env_extra = |api: &str| lambda_env(api, &endpoint, &extra_env);
    let extra_binary = env_path("COLD_START_EXTRA");
    let extra = extra_binary.as_deref().map(|binary| Subject {
        name: "extra",
        binary,
        expect: PUBLISHED,
        env: &env_extra,
        recorded_as: None,
    });
    let count = 4 + usize::from(extra.is_some());
    let subject_at = |i: usize| subjects.get(i).or(extra.as_ref()).expect("subject index");
    // Measures one run, and checks that a function with the inventory recorded
    // the last notification it was sent (unless the relay logged a failed call).
    let measured = |subject: &Subject, warm: usize, log: &Path| -> Result<Run, String> {
        let run = measure(subject.binary, subject.env, &events, warm, subject.expect, log, &|| {
            moto.requests()
        })?;
        if let Some(attribute) = subject.recorded_as.filter(|_| run.inventory_failures == 0) {
            let (id, uuid) = &run.last_sent;
            let recorded = moto.recorded(&table, id, attribute)?;
            if recorded.as_deref() != Some(uuid.as_str()) {
                return Err(format!(
                    "{}: the inventory holds notification {recorded:?} for {id}, not the last one sent ({uuid}); see {}",
                    subject.name,
                    log.display()
                ));
            }
        }
        Ok(run)
    };
    println!(
        "cold_start: {reps} repetitions of exec + 1 cold + {warm} warm invocations for each, in turn;\n  relay: {} ({} bytes), also as deployed (VERIFICATION_TOKEN_SECRET_ARN, INVENTORY_TABLE={table}, ACCOUNTS_TABLE, empty)\n  typical relay: {} ({} bytes), as deployed\n  hello: {} ({} bytes)\n  SNS, DynamoDB and Secrets Manager: moto at {endpoint}; function logs in {}",
        relay.display(),
        size_of(relay),
        typical.display(),
        size_of(typical),
        hello.display(),
        size_of(hello),
        out_dir.display()
    );
    // One unmeasured run each: the page cache and moto's first requests.
    for subject in subjects.iter().chain(&extra) {
        measured(subject, 20, &out_dir.join(format!("{}-warmup.log", subject.name)))?;
    }
    let mut runs: [Vec<Run>; 4] = Default::default();
    let (mut extra_runs, mut extra_cold) = (Vec::new(), Vec::new());
    println!(
        "\n{:<16} {:>4} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10} {:>14} {:>10} {:>9}",
        "binary",
        "rep",
        "init",
        "init cpu",
        "first",
        "cpu→1st",
        "warm p50",
        "warm p99",
        "warm cpu/inv",
        "peak RSS",
        "AWS/inv"
    );
    for rep in 1..=reps {
        // Rotate which goes first, so drift hits all alike.
        for i in (0..count).map(|k| (k + rep) % count) {
            let subject = subject_at(i);
            let name = subject.name;
            let r = measured(subject, warm, &out_dir.join(format!("{name}-{rep}.log")))?;
            println!(
                "{name:<16} {rep:>4} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10} {:>14} {:>10} {:>9}{}",
                ms(r.init),
                ms(r.init_cpu),
                ms(r.first),
                ms(r.first_cpu),
                ms(r.warm_median),
                ms(r.warm_p99),
                us(r.warm_cpu),
                mb(r.peak_rss),
                r.warm_requests.map_or("-".to_owned(), |n| format!("{n:.2}")),
                failures_note(r.inventory_failures)
            );
            runs.get_mut(i).unwrap_or(&mut extra_runs).push(r);
        }
    }
    // The cold-start CPU rows: many short runs (exec, init, one invocation),
    // in turn, so that a busy moment of a shared machine moves the medians little.
    let cold_reps = env_number("COLD_START_COLD_REPS", 21).max(1);
    let mut cold: [Vec<Run>; 4] = Default::default();
    for rep in 1..=cold_reps {
        for i in (0..count).map(|k| (k + rep) % count) {
            let subject = subject_at(i);
            let log = out_dir.join(format!("{}-cold.log", subject.name));
            // Let the previous process's exit and moto's side of its connection
            // finish first: on 2 cores they would run beside the one measured.
            std::thread::sleep(Duration::from_millis(100));
            let run = measured(subject, 0, &log)?;
            if std::env::var_os("COLD_START_PRINT_COLD").is_some() {
                // Each cold start, for comparing binaries run in turn under one name.
                println!(
                    "cold {:<16} {rep:>4} {:>10} {:>10}",
                    subject.name,
                    ms(run.init_cpu),
                    ms(run.first_cpu)
                );
            }
            cold.get_mut(i).unwrap_or(&mut extra_cold).push(run);
        }
    }
    let med =
        |runs: &[Vec<Run>; 4], f: fn(&Run) -> Duration| runs.each_ref().map(|r| median(r.iter().map(f).collect()));
    let rss = runs.each_ref().map(|runs| {
        let mut v: Vec<u64> = runs.iter().map(|r| r.peak_rss).collect();
        v.sort();
        v[v.len() / 2]
    });
    let ratio = |r: Duration, h: Duration| r.as_secs_f64() / h.as_secs_f64().max(1e-9);
    let word = |ok: bool| if ok { "within" } else { "OVER BUDGET" };
    let init = med(&runs, |r| r.init);
    let init_budget = init[HELLO].mul_f64(INIT_BUDGET_MULTIPLE);
    let init_cpu = med(&cold, |r| r.init_cpu);
    let first_cpu = med(&cold, |r| r.first_cpu);
    let first_cpu_budget = first_cpu[HELLO].mul_f64(FIRST_CPU_BUDGET_MULTIPLE);
    let warm_cpu = med(&runs, |r| r.warm_cpu);
    // The warm budget per repetition too (the runs of one repetition are
    // back to back): how often it holds, not only at the medians.
    let warm_ratios: Vec<f64> = runs[DEPLOYED]
        .iter()
        .zip(&runs[TYPICAL])
        .map(|(d, t)| ratio(d.warm_cpu, t.warm_cpu))
        .collect();
    let warm_ratio = ratio(warm_cpu[DEPLOYED], warm_cpu[TYPICAL]);
    let spread = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{lo:.2}-{hi:.2}")
    };
    let requests = runs.each_ref().map(|runs| {
        let v: Vec<f64> = runs.iter().filter_map(|r| r.warm_requests).collect();
        if v.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.2}", v.iter().sum::<f64>() / v.len() as f64)
        }
    });
    let times = |t: [Duration; 4]| t.map(ms);
    let rows: [(String, [String; 4], String, String); 9] = [
        (
            "init (exec to first /next)".to_owned(),
            times(init),
            format!(
                "relay <= {INIT_BUDGET_MULTIPLE}x hello = {} (deployed {:.2}x typical)",
                ms(init_budget),
                ratio(init[DEPLOYED], init[TYPICAL])
            ),
            word(init[RELAY] <= init_budget).to_owned(),
        ),
        (
            format!("init CPU, all threads (schedstat; /{cold_reps})"),
            times(init_cpu),
            format!(
                "- ({:.2}x / {:.2}x hello; deployed {:.2}x typical)",
                ratio(init_cpu[RELAY], init_cpu[HELLO]),
                ratio(init_cpu[DEPLOYED], init_cpu[HELLO]),
                ratio(init_cpu[DEPLOYED], init_cpu[TYPICAL])
            ),
            String::new(),
        ),
        (
            format!("CPU through the first invocation (/{cold_reps})"),
            times(first_cpu),
            format!(
                "relay <= {FIRST_CPU_BUDGET_MULTIPLE}x hello = {} ({:.2}x); deployed <= 1x typical ({:.2}x; {:.2}x hello)",
                ms(first_cpu_budget),
                ratio(first_cpu[RELAY], first_cpu[HELLO]),
                ratio(first_cpu[DEPLOYED], first_cpu[TYPICAL]),
                ratio(first_cpu[DEPLOYED], first_cpu[HELLO]),
            ),
            format!(
                "{} / {}",
                word(first_cpu[RELAY] <= first_cpu_budget),
                word(first_cpu[DEPLOYED] <= first_cpu[TYPICAL])
            ),
        ),
        (
            "first invocation".to_owned(),
            times(med(&runs, |r| r.first)),
            "-".to_owned(),
            String::new(),
        ),
        (
            "warm invocation, wall p50".to_owned(),
            times(med(&runs, |r| r.warm_median)),
            "- (includes moto's replies)".to_owned(),
            String::new(),
        ),
        (
            "warm invocation, wall p99".to_owned(),
            times(med(&runs, |r| r.warm_p99)),
            "-".to_owned(),
            String::new(),
        ),
        (
            format!("warm CPU user+sys per invocation (/{warm})"),
            warm_cpu.map(us),
            format!(
                "deployed <= {WARM_CPU_BUDGET_MULTIPLE}x typical: {warm_ratio:.2}x (repetitions {})",
                spread(&warm_ratios)
            ),
            word(warm_ratio <= WARM_CPU_BUDGET_MULTIPLE).to_owned(),
        ),
        (
            "AWS requests per warm invocation (at moto)".to_owned(),
            requests,
            "- (deployed and typical: 3)".to_owned(),
            String::new(),
        ),
        (
            format!("peak RSS (VmHWM) after {warm} warm"),
            rss.map(mb),
            format!("<= {}", mb(PEAK_RSS_BUDGET)),
            format!(
                "{} / {}",
                word(rss[RELAY] <= PEAK_RSS_BUDGET),
                word(rss[DEPLOYED] <= PEAK_RSS_BUDGET)
            ),
        ),
    ];
    let mut table = format!(
        "\ncold start and warm invocations: medians of {reps} repetitions (CPU resolution: one {} clock tick / {warm})\n\
         relay-deployed: the token in Secrets Manager, the inventory; typical-relay: perf/peer-relay, the same AWS calls\n\
         {:<42} {:>12} {:>12} {:>15} {:>14}   {:<62} {}\n",
        us(process::clock_tick()),
        "figure",
        "hello-world",
        "relay",
        "relay-deployed",
        "typical-relay",
        "budget (relay / relay-deployed)",
        "verdict"
    );
    for (figure, [h, r, d, t], budget, verdict) in rows {
        table.push_str(&format!(
            "{figure:<42} {h:>12} {r:>12} {d:>15} {t:>14}   {budget:<62} {verdict}\n"
        ));
    }
    let failed: usize = runs[DEPLOYED]
        .iter()
        .chain(&cold[DEPLOYED])
        .map(|r| r.inventory_failures)
        .sum();
    let delta = |a: Duration, b: Duration| format!("{:+.2} ms", (a.as_secs_f64() - b.as_secs_f64()) * 1e3);
    let warm_delta = |a: Duration, b: Duration| format!("{:+.0} µs", (a.as_secs_f64() - b.as_secs_f64()) * 1e6);
    table.push_str(&format!(
        "\nwhat the deployment adds: relay-deployed - relay (differences of the medians above)\n\
         {:<62} {:>12}\n{:<62} {:>12}\n{:<62} {:>12}\n{:<62} {:>12}\n{:<62} {:>12}\n{:<62} {:>12}\n",
        "init CPU (the Secrets Manager and DynamoDB clients, the read)",
        delta(init_cpu[DEPLOYED], init_cpu[RELAY]),
        "CPU through the first invocation (+ GetItem, PutItem)",
        delta(first_cpu[DEPLOYED], first_cpu[RELAY]),
        "warm CPU per invocation (GetItem, PutItem)",
        warm_delta(warm_cpu[DEPLOYED], warm_cpu[RELAY]),
        "  the typical relay's whole warm work (typical - hello)",
        warm_delta(warm_cpu[TYPICAL], warm_cpu[HELLO]),
        "peak RSS",
        format!("{:+.1} MB", (rss[DEPLOYED] as f64 - rss[RELAY] as f64) / 1e6),
        "inventory calls that failed (logged; published without)",
        failed,
    ));
    if let Some(extra) = &extra {
        let warm_extra = median(extra_runs.iter().map(|r| r.warm_cpu).collect());
        table.push_str(&format!(
            "\nextra: {} with {:?}\n  warm CPU per invocation {} ({:.2}x typical-relay, {:.2}x relay-deployed); CPU through the first invocation {}\n",
            extra.binary.display(),
            std::env::var("COLD_START_EXTRA_ENV").unwrap_or_default(),
            us(warm_extra),
            ratio(warm_extra, warm_cpu[TYPICAL]),
            ratio(warm_extra, warm_cpu[DEPLOYED]),
            ms(median(extra_cold.iter().map(|r| r.first_cpu).collect())),
        ));
    }
    let secret = deployed
        .iter()
        .find(|(k, _)| *k == "VERIFICATION_TOKEN_SECRET_ARN")
        .map(|(_, arn)| arn.as_str())
        .unwrap_or_default();
    table.push_str(&secret_cost(
        secret, &topology, &endpoint, relay, &events, &out_dir, cold_reps,
    )?);
    table.push_str(&where_it_goes(&subjects, &events, &out_dir, reps)?);
    print!("{table}");
    if let Some(summary) = env_path("PERF_SUMMARY") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .map_err(|e| format!("{}: {e}", summary.display()))?;
        file.write_all(table.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The token secret's cost at cold start: the relay with
/// `VERIFICATION_TOKEN_SECRET_ARN` (a Secrets Manager client and one
/// GetSecretValue before the first `/next`) against `VERIFICATION_TOKEN`,
/// in turn, `reps` cold starts each.
fn secret_cost(
    arn: &str,
    topology: &[(&'static str, String)],
    endpoint: &str,
    relay: &Path,
    events: &Notifications,
    out_dir: &Path,
    reps: usize,
) -> Result<String, String> {
    let mut with_secret: Vec<(&'static str, String)> = topology
        .iter()
        .filter(|(k, _)| *k != "VERIFICATION_TOKEN")
        .cloned()
        .collect();
    with_secret.push(("VERIFICATION_TOKEN_SECRET_ARN", arn.to_owned()));
    let plain = |api: &str| lambda_env(api, endpoint, topology);
    let secret = |api: &str| lambda_env(api, endpoint, &with_secret);
    let envs: [&EnvFn<'_>; 2] = [&plain, &secret];
    let mut runs: [Vec<Run>; 2] = Default::default();
    measure(
        relay,
        &secret,
        events,
        0,
        PUBLISHED,
        &out_dir.join("relay+secret-warmup.log"),
        &|| None,
    )?;
    for rep in 0..reps {
        for i in [rep % 2, 1 - rep % 2] {
            std::thread::sleep(Duration::from_millis(100));
            let log = out_dir.join(if i == 0 {
                "relay-plain-token.log"
            } else {
                "relay+secret.log"
            });
            runs[i].push(measure(relay, envs[i], events, 0, PUBLISHED, &log, &|| None)?);
        }
    }
    let med = |f: fn(&Run) -> Duration| runs.each_ref().map(|r| median(r.iter().map(f).collect()));
    let row = |name: &str, [plain, secret]: [Duration; 2]| {
        format!(
            "{name:<46} {:>12} {:>12} {:>+10.2} ms\n",
            ms(plain),
            ms(secret),
            (secret.as_secs_f64() - plain.as_secs_f64()) * 1e3
        )
    };
    let mut out = format!(
        "\nthe token secret's cost at cold start (medians of {reps} cold starts each; Secrets Manager is moto on loopback)\n{:<46} {:>12} {:>12} {:>13}\n",
        "figure", "token in env", "token secret", "difference"
    );
    out.push_str(&row("init, exec to the first /next (wall)", med(|r| r.init)));
    out.push_str(&row("init CPU", med(|r| r.init_cpu)));
    out.push_str(&row("CPU through the first invocation", med(|r| r.first_cpu)));
    Ok(out)
}

fn failures_note(failures: usize) -> String {
    if failures == 0 {
        String::new()
    } else {
        format!("   ({failures} inventory calls failed; published without)")
    }
}

/// Where the relay's cold-start CPU goes: each binary run to its exit with no
/// environment, then (with `COLD_START_STEPS`) the perf/steps probe, without
/// and with the inventory.
fn where_it_goes(subjects: &[Subject], events: &Notifications, out_dir: &Path, reps: usize) -> Result<String, String> {
    let reps = reps.max(5);
    let exit_cpu = |binary: &Path| -> Result<Duration, String> {
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let (cpu, _) = process::cpu_to_exit(
                Command::new(binary)
                    .env_clear()
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
            .map_err(|e| format!("{}: {e}", binary.display()))?;
            times.push(cpu);
        }
        Ok(median(times))
    };
    let (h_exit, r_exit) = (exit_cpu(subjects[HELLO].binary)?, exit_cpu(subjects[RELAY].binary)?);
    let mut out = format!(
        "\nwhere the relay's cold-start CPU goes (medians of {reps} runs)\n{:<62} {:>12} {:>12} {:>16}\n{:<62} {:>12} {:>12} {:>16}\n",
        "step",
        "hello-world",
        "relay",
        "relay-deployed",
        "exec to exit with no environment (binary size, std, tracing)",
        ms(h_exit),
        ms(r_exit),
        "(same binary)",
    );
    let Some(probe) = env_path("COLD_START_STEPS") else {
        out.push_str("(the relay's steps: set COLD_START_STEPS to the perf/steps binary; perf/bench.sh does)\n");
        return Ok(out);
    };
    // The probe's first invocation, a notification of its own each time.
    let event = out_dir.join("steps-event.json");
    let second = out_dir.join("steps-event-2.json");
    let mut runs: [Vec<Vec<(String, Duration)>>; 2] = Default::default();
    // One unmeasured run each: the page cache.
    for rep in 0..=reps {
        let order = if rep % 2 == 0 {
            [RELAY, DEPLOYED]
        } else {
            [DEPLOYED, RELAY]
        };
        for i in order {
            let subject = &subjects[i];
            for path in [&event, &second] {
                std::fs::write(path, events.next().event).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            let output = Command::new(&probe)
                .arg(&event)
                .arg(&second)
                .args(std::env::var_os("COLD_START_STEPS_PARTS").map(|_| "--parts"))
                .env_clear()
                .envs((subject.env)("127.0.0.1:9"))
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("{}: {e}", probe.display()))?;
            let stderr = String::from_utf8_lossy(&output.stderr);
            let answers: Vec<_> = stderr
                .lines()
                .filter_map(|line| line.strip_prefix("answer\t"))
                .collect();
            let published = answers.len() == 2
                && answers.iter().all(|answer| {
                    serde_json::from_str::<serde_json::Value>(answer).is_ok_and(|answer| {
                        answer["statusCode"] == 200 && answer["body"].as_str().unwrap_or("").contains(PUBLISHED)
                    })
                });
            let logs = String::from_utf8_lossy(&output.stdout);
            if !output.status.success() || !published || logs.contains(INVENTORY_FAILED) {
                return Err(format!(
                    "{} ({}) failed: {}\n{stderr}{logs}",
                    probe.display(),
                    subject.name,
                    output.status
                ));
            }
            let steps = stderr
                .lines()
                .filter_map(|line| line.split_once('\t'))
                .filter_map(|(step, ns)| Some((step.to_owned(), Duration::from_nanos(ns.parse().ok()?))))
                .collect();
            if rep > 0 {
                runs[usize::from(i == DEPLOYED)].push(steps);
            }
        }
    }
    let names: Vec<String> = runs[0][0].iter().map(|(step, _)| step.clone()).collect();
    let step = |runs: &[Vec<(String, Duration)>], i: usize| {
        median(
            runs.iter()
                .map(|run| {
                    run[i]
                        .1
                        .saturating_sub(if i == 0 { Duration::ZERO } else { run[i - 1].1 })
                })
                .collect(),
        )
    };
    for (i, name) in names.iter().enumerate() {
        out.push_str(&format!(
            "{:<62} {:>12} {:>12} {:>16}\n",
            format!("  {name}"),
            "",
            ms(step(&runs[0], i)),
            ms(step(&runs[1], i))
        ));
    }
    let total = |runs: &[Vec<(String, Duration)>]| median(runs.iter().map(|run| run[run.len() - 1].1).collect());
    out.push_str(&format!(
        "{:<62} {:>12} {:>12} {:>16}\n",
        "  total (in one process, without the Runtime API client)",
        "",
        ms(total(&runs[0])),
        ms(total(&runs[1]))
    ));
    // What the clients' first calls set up once: the first invocation's excess
    // over the second (medians of the per-run differences).
    let first = names.iter().position(|n| n.starts_with("first invocation"));
    let second = names.iter().position(|n| n.starts_with("second invocation"));
    if let (Some(first), Some(second)) = (first, second) {
        let set_up = |runs: &[Vec<(String, Duration)>]| {
            let excess = runs
                .iter()
                .map(|run| {
                    let took = |i: usize| run[i].1.saturating_sub(run[i - 1].1);
                    took(first).saturating_sub(took(second))
                })
                .collect();
            ms(median(excess))
        };
        out.push_str(&format!(
            "{:<62} {:>12} {:>12} {:>16}\n",
            "  first calls' one-off set-up (first - second invocation)",
            "",
            set_up(&runs[0]),
            set_up(&runs[1])
        ));
    }
    Ok(out)
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

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}
