//! Cold start, warm invocations, CPU and memory of the release `bootstrap`,
//! side by side with a minimal `lambda_http` hello-world (perf/hello, the same
//! release profile), both run in the same benchmark against a local Lambda
//! Runtime API emulator (see `emulator.rs`), with SNS on a local moto server.
//!
//! Run it with `make bench` (perf/bench.sh builds both binaries and sets
//! `COLD_START_RELAY` and `COLD_START_HELLO`). Under `cargo test --all-targets`
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
//!   alternating, each ended after its first invocation;
//! - CPU (user+sys, /proc/<pid>/stat) over `COLD_START_WARM` warm invocations;
//! - peak RSS (VmHWM) after them.
//!
//! Medians over `COLD_START_REPS` repetitions are printed beside the budgets.
//!
//! Then, where the relay's cold-start CPU goes: each binary run to its exit
//! with no environment (loading the binary, std and tracing start-up: the cost
//! of its size), and, when `COLD_START_STEPS` names the perf/steps probe, the
//! steps of the relay's `main` one by one (see perf/steps/src/main.rs).
//!
//! With `COLD_START_STEPS_PARTS=1` the probe also times the pieces an SDK client
//! is built from (`--parts`), before the relay's own steps.

mod emulator;
mod process;

use emulator::RuntimeApiEmulator;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);
const INIT_BUDGET_MULTIPLE: f64 = 1.3;
/// CPU through the end of the first invocation, relative to the hello-world's.
const FIRST_CPU_BUDGET_MULTIPLE: f64 = 2.0;
const WARM_CPU_BUDGET: Duration = Duration::from_millis(1);
const PEAK_RSS_BUDGET: u64 = 30_000_000;
const TOKEN: &str = "ccNumberRelayLocalDemoToken2026x";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        smoke();
        return;
    }
    let (Some(relay), Some(hello)) = (env_path("COLD_START_RELAY"), env_path("COLD_START_HELLO")) else {
        println!("cold_start: skipped: COLD_START_RELAY and COLD_START_HELLO are not set; `make bench` builds both and sets them");
        return;
    };
    if let Err(e) = run(&relay, &hello) {
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
    env.extend(topology.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    env
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
}

/// Starts `binary` under a fresh emulator, invokes it once cold and `warm`
/// times warm with `events` in turn, and reads its CPU time and peak RSS.
fn measure(
    binary: &Path,
    env: &dyn Fn(&str) -> Vec<(String, String)>,
    events: &[Vec<u8>],
    warm: usize,
    expect_in_body: &str,
    log: &Path,
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
    let result = (|| {
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
        let first = emulator.invoke("cold-0", &events[0], TIMEOUT)?;
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
            });
        }
        let cpu_before = process::cpu_time(pid)?;
        let mut durations = Vec::with_capacity(warm);
        for n in 1..=warm {
            let invocation = emulator.invoke(&format!("warm-{n}"), &events[n % events.len()], TIMEOUT)?;
            check(n, &invocation)?;
            durations.push(invocation.duration);
        }
        let cpu_after = process::cpu_time(pid)?;
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
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn run(relay: &Path, hello: &Path) -> Result<(), String> {
    check_same_release_profile()?;
    let reps = env_number("COLD_START_REPS", 5).max(1);
    let warm = env_number("COLD_START_WARM", 1000).max(1);
    let out_dir = manifest_dir().join("target/perf/logs");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;

    let moto = moto::Moto::start()?;
    let topology = moto.topology()?;
    let endpoint = moto.endpoint.clone();
    let env = |api: &str| lambda_env(api, &endpoint, &topology);
    let events = [event("created"), event("updated"), event("deleted")];

    let binaries: [(&str, &Path, &str); 2] = [
        ("hello-world", hello, "hello"),
        ("relay", relay, r#""status":"published""#),
    ];
    println!(
        "cold_start: {reps} repetitions of exec + 1 cold + {warm} warm invocations for each binary, alternating;\n  relay: {} ({} bytes)\n  hello: {} ({} bytes)\n  SNS: moto at {endpoint}; function logs in {}",
        relay.display(),
        size_of(relay),
        hello.display(),
        size_of(hello),
        out_dir.display()
    );
    // One unmeasured run each: the page cache and moto's first requests.
    for (name, binary, expect) in binaries {
        measure(
            binary,
            &env,
            &events,
            20,
            expect,
            &out_dir.join(format!("{name}-warmup.log")),
        )?;
    }
    let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
    println!(
        "\n{:<12} {:>4} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10} {:>14} {:>10}",
        "binary", "rep", "init", "init cpu", "first", "cpu→1st", "warm p50", "warm p99", "warm cpu/inv", "peak RSS"
    );
    for rep in 1..=reps {
        // Alternate which binary goes first, so drift hits both alike.
        let order: [usize; 2] = if rep % 2 == 1 { [0, 1] } else { [1, 0] };
        for i in order {
            let (name, binary, expect) = binaries[i];
            let log = out_dir.join(format!("{name}-{rep}.log"));
            let r = measure(binary, &env, &events, warm, expect, &log)?;
            println!(
                "{name:<12} {rep:>4} {:>10} {:>10} {:>10} {:>10} {:>11} {:>10} {:>14} {:>10}",
                ms(r.init),
                ms(r.init_cpu),
                ms(r.first),
                ms(r.first_cpu),
                ms(r.warm_median),
                ms(r.warm_p99),
                us(r.warm_cpu),
                mb(r.peak_rss)
            );
            runs[i].push(r);
        }
    }
    // The cold-start CPU rows: many short runs (exec, init, one invocation),
    // alternating, so that a busy moment of a shared machine moves the medians little.
    let cold_reps = env_number("COLD_START_COLD_REPS", 21).max(1);
    let mut cold: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
    for rep in 1..=cold_reps {
        let order: [usize; 2] = if rep % 2 == 1 { [0, 1] } else { [1, 0] };
        for i in order {
            let (name, binary, expect) = binaries[i];
            let log = out_dir.join(format!("{name}-cold.log"));
            // Let the previous process's exit and moto's side of its connection
            // finish first: on 2 cores they would run beside the one measured.
            std::thread::sleep(Duration::from_millis(100));
            cold[i].push(measure(binary, &env, &events, 0, expect, &log)?);
        }
    }
    let [hello_cold, relay_cold] = &cold;
    let [hello_runs, relay_runs] = &runs;
    let med = |runs: &[Run], f: fn(&Run) -> Duration| median(runs.iter().map(f).collect());
    let med_rss = |runs: &[Run]| {
        let mut v: Vec<u64> = runs.iter().map(|r| r.peak_rss).collect();
        v.sort();
        v[v.len() / 2]
    };
    let (h_init, r_init) = (med(hello_runs, |r| r.init), med(relay_runs, |r| r.init));
    let init_budget = h_init.mul_f64(INIT_BUDGET_MULTIPLE);
    let (h_init_cpu, r_init_cpu) = (med(hello_cold, |r| r.init_cpu), med(relay_cold, |r| r.init_cpu));
    let (h_first_cpu, r_first_cpu) = (med(hello_cold, |r| r.first_cpu), med(relay_cold, |r| r.first_cpu));
    let first_cpu_budget = h_first_cpu.mul_f64(FIRST_CPU_BUDGET_MULTIPLE);
    let ratio = |r: Duration, h: Duration| r.as_secs_f64() / h.as_secs_f64().max(1e-9);
    let r_cpu = med(relay_runs, |r| r.warm_cpu);
    let r_rss = med_rss(relay_runs);
    let verdict = |ok: bool| if ok { "within" } else { "OVER BUDGET" };
    let rows = [
        (
            "init (exec to first /next)".to_owned(),
            ms(h_init),
            ms(r_init),
            format!("<= {INIT_BUDGET_MULTIPLE}x hello = {}", ms(init_budget)),
            verdict(r_init <= init_budget),
        ),
        (
            format!("init CPU, all threads (schedstat; /{cold_reps})"),
            ms(h_init_cpu),
            ms(r_init_cpu),
            format!("- ({:.2}x hello)", ratio(r_init_cpu, h_init_cpu)),
            "",
        ),
        (
            format!("CPU through the first invocation (/{cold_reps})"),
            ms(h_first_cpu),
            ms(r_first_cpu),
            format!(
                "<= {FIRST_CPU_BUDGET_MULTIPLE}x hello = {} ({:.2}x)",
                ms(first_cpu_budget),
                ratio(r_first_cpu, h_first_cpu)
            ),
            verdict(r_first_cpu <= first_cpu_budget),
        ),
        (
            "first invocation".to_owned(),
            ms(med(hello_runs, |r| r.first)),
            ms(med(relay_runs, |r| r.first)),
            "-".to_owned(),
            "",
        ),
        (
            "warm invocation, wall p50".to_owned(),
            ms(med(hello_runs, |r| r.warm_median)),
            ms(med(relay_runs, |r| r.warm_median)),
            "- (includes moto's reply)".to_owned(),
            "",
        ),
        (
            "warm invocation, wall p99".to_owned(),
            ms(med(hello_runs, |r| r.warm_p99)),
            ms(med(relay_runs, |r| r.warm_p99)),
            "-".to_owned(),
            "",
        ),
        (
            format!("warm CPU user+sys per invocation (/{warm})"),
            us(med(hello_runs, |r| r.warm_cpu)),
            us(r_cpu),
            format!("<= {}", us(WARM_CPU_BUDGET)),
            verdict(r_cpu <= WARM_CPU_BUDGET),
        ),
        (
            format!("peak RSS (VmHWM) after {warm} warm"),
            mb(med_rss(hello_runs)),
            mb(r_rss),
            format!("<= {}", mb(PEAK_RSS_BUDGET)),
            verdict(r_rss <= PEAK_RSS_BUDGET),
        ),
    ];
    let mut table = format!(
        "\ncold start and warm invocations: medians of {reps} repetitions (CPU resolution: one {} clock tick / {warm})\n{:<42} {:>12} {:>12}   {:<30} {}\n",
        us(process::clock_tick()),
        "figure",
        "hello-world",
        "relay",
        "budget (relay)",
        "verdict"
    );
    for (figure, h, r, budget, verdict) in rows {
        table.push_str(&format!("{figure:<42} {h:>12} {r:>12}   {budget:<30} {verdict}\n"));
    }
    table.push_str(&where_it_goes(relay, hello, &env, reps)?);
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

/// Where the relay's cold-start CPU goes: each binary run to its exit with no
/// environment, then (with `COLD_START_STEPS`) the perf/steps probe.
fn where_it_goes(
    relay: &Path,
    hello: &Path,
    env: &dyn Fn(&str) -> Vec<(String, String)>,
    reps: usize,
) -> Result<String, String> {
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
    let (h_exit, r_exit) = (exit_cpu(hello)?, exit_cpu(relay)?);
    let mut out = format!(
        "\nwhere the relay's cold-start CPU goes (medians of {reps} runs)\n{:<62} {:>12} {:>12}\n{:<62} {:>12} {:>12}\n",
        "step",
        "hello-world",
        "relay",
        "exec to exit with no environment (binary size, std, tracing)",
        ms(h_exit),
        ms(r_exit),
    );
    let Some(probe) = env_path("COLD_START_STEPS") else {
        out.push_str("(the relay's steps: set COLD_START_STEPS to the perf/steps binary; perf/bench.sh does)\n");
        return Ok(out);
    };
    let event = manifest_dir().join("events/created.json");
    let mut runs: Vec<Vec<(String, Duration)>> = Vec::with_capacity(reps);
    // One unmeasured run: the page cache.
    for rep in 0..=reps {
        let output = Command::new(&probe)
            .arg(&event)
            .args(std::env::var_os("COLD_START_STEPS_PARTS").map(|_| "--parts"))
            .env_clear()
            .envs(env("127.0.0.1:9"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", probe.display()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let published = stderr
            .lines()
            .find_map(|line| line.strip_prefix("answer\t"))
            .and_then(|answer| serde_json::from_str::<serde_json::Value>(answer).ok())
            .is_some_and(|answer| {
                answer["statusCode"] == 200
                    && answer["body"]
                        .as_str()
                        .unwrap_or("")
                        .contains(r#""status":"published""#)
            });
        if !output.status.success() || !published {
            return Err(format!("{} failed: {}\n{stderr}", probe.display(), output.status));
        }
        let steps = stderr
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter_map(|(step, ns)| Some((step.to_owned(), Duration::from_nanos(ns.parse().ok()?))))
            .collect();
        if rep > 0 {
            runs.push(steps);
        }
    }
    let names: Vec<String> = runs[0].iter().map(|(step, _)| step.clone()).collect();
    for (i, name) in names.iter().enumerate() {
        let step = median(
            runs.iter()
                .map(|run| {
                    run[i]
                        .1
                        .saturating_sub(if i == 0 { Duration::ZERO } else { run[i - 1].1 })
                })
                .collect(),
        );
        out.push_str(&format!("{:<62} {:>12} {:>12}\n", format!("  {name}"), "", ms(step)));
    }
    let total = median(runs.iter().map(|run| run[run.len() - 1].1).collect());
    out.push_str(&format!(
        "{:<62} {:>12} {:>12}\n",
        "  total (in one process, without the Runtime API client)",
        "",
        ms(total)
    ));
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

/// The hello-world is its own crate (so the relay's package builds only the
/// relay); its `[profile.release]` must be the relay's, or the comparison is void.
fn check_same_release_profile() -> Result<(), String> {
    let section = |path: PathBuf| -> Result<Vec<String>, String> {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
            .skip_while(|l| l != "[profile.release]")
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .filter(|l| !l.is_empty())
            .collect();
        lines.sort();
        Ok(lines)
    };
    let relay = section(manifest_dir().join("Cargo.toml"))?;
    let hello = section(manifest_dir().join("perf/hello/Cargo.toml"))?;
    if relay.is_empty() || relay != hello {
        return Err(format!(
            "perf/hello/Cargo.toml's [profile.release] {hello:?} differs from Cargo.toml's {relay:?}: copy it over"
        ));
    }
    Ok(())
}

mod moto {
    //! moto on a free loopback port, and the relay's topics and queue in it.

    use super::process::spawn_tied;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    pub struct Moto {
        pub endpoint: String,
        child: Child,
    }

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Moto {
        pub fn start() -> Result<Self, String> {
            let venv = super::manifest_dir().join(".venv/bin/moto_server");
            let program = if venv.exists() { venv } else { "moto_server".into() };
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port();
            let child = spawn_tied(
                Command::new(&program)
                    .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
            .map_err(|e| format!("{}: {e} (run dev/bootstrap.sh)", program.display()))?;
            let deadline = Instant::now() + Duration::from_secs(60);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if Instant::now() > deadline {
                    return Err(format!("moto_server did not listen on {port} within 60 s"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(Self {
                endpoint: format!("http://127.0.0.1:{port}"),
                child,
            })
        }

        /// Three topics and a dead-letter queue, as the relay's environment.
        pub fn topology(&self) -> Result<Vec<(&'static str, String)>, String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .endpoint_url(&self.endpoint)
                    .region("us-east-1")
                    .credentials_provider(aws_sdk_sns::config::Credentials::new(
                        "test", "test", None, None, "bench",
                    ))
                    .load()
                    .await;
                let sns = aws_sdk_sns::Client::new(&sdk);
                let sqs = aws_sdk_sqs::Client::new(&sdk);
                let mut env = Vec::new();
                for (var, name) in [
                    ("CREATED_TOPIC_ARN", "bench-created"),
                    ("UPDATED_TOPIC_ARN", "bench-updated"),
                    ("DELETED_TOPIC_ARN", "bench-deleted"),
                ] {
                    let topic = sns.create_topic().name(name).send().await.map_err(|e| e.to_string())?;
                    env.push((var, topic.topic_arn.unwrap_or_default()));
                }
                let queue = sqs
                    .create_queue()
                    .queue_name("bench-dlq")
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                env.push(("DEAD_LETTER_QUEUE_URL", queue.queue_url.unwrap_or_default()));
                env.push(("VERIFICATION_TOKEN", super::TOKEN.to_owned()));
                Ok(env)
            })
        }
    }
}
