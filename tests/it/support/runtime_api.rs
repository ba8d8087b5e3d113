//! A Lambda Runtime API emulator written for the tests (not AWS's Runtime
//! Interface Emulator), serving several function processes at once, as
//! Lambda runs several instances of a function side by side.
//!
//! It serves, over HTTP/1.1 on loopback (`tiny_http`):
//! - `GET /2018-06-01/runtime/invocation/next`: blocks until an event is
//!   queued, then hands it out with the `Lambda-Runtime-Aws-Request-Id`,
//!   `-Deadline-Ms`, `-Invoked-Function-Arn` and `-Trace-Id` headers;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `/error`: the
//!   answer to that event, back to whoever invoked it;
//! - `POST /2018-06-01/runtime/init/error`: a failed cold start, recorded.
//!
//! Each function process gets its own base path in `AWS_LAMBDA_RUNTIME_API`
//! (`http://127.0.0.1:<port>/fn-0`, …; Lambda itself gives `host:port`, but
//! the runtime client also takes a URL with a base path, which is what
//! `cargo lambda watch` gives it too), so the emulator knows which instance
//! asked, counts its invocations, and refuses a second event to an instance
//! that has not answered its first: one event at a time per instance, as
//! Lambda does. Tests call [`RuntimeApi::invoke`] from as many threads as
//! they like; each call queues one event and blocks until its answer.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RUNTIME: &str = "/2018-06-01/runtime/";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:cc-number-relay";
/// The template's function timeout: every invocation's deadline, unless
/// [`RuntimeApi::with_timeout`] sets another.
const TIMEOUT: Duration = Duration::from_millis(3_000);

pub struct RuntimeApi {
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    port: u16,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when an event is queued or the emulator closes.
    queued: Condvar,
    /// The function's timeout: each invocation's deadline is this far from when it is handed out.
    timeout: Duration,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    /// Handed out, not yet answered: request id → the instance and the caller.
    in_flight: HashMap<String, InFlight>,
    /// Instances that have asked for an event at least once (their cold start is over).
    polled: BTreeSet<String>,
    invocations: BTreeMap<String, usize>,
    /// The most events handed out and not yet answered at any one time.
    peak_in_flight: usize,
    init_errors: Vec<String>,
    /// What a function did that Lambda's Runtime API would refuse.
    violations: Vec<String>,
    next_id: u64,
    closed: bool,
}

struct Queued {
    id: String,
    event: Vec<u8>,
    answer: Sender<Answer>,
}

struct InFlight {
    instance: String,
    answer: Sender<Answer>,
}

/// What the function answered: its response, or the body of its `/error`.
type Answer = Result<Vec<u8>, String>;

impl RuntimeApi {
    /// Invocations get the relay's timeout, [`TIMEOUT`] (3 s), as their deadline.
    pub fn start() -> Self {
        Self::with_timeout(TIMEOUT)
    }

    /// Invocations get `timeout` as their deadline, as a function configured
    /// with that timeout would (the guardian's is minutes).
    pub fn with_timeout(timeout: Duration) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind the Runtime API emulator"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            queued: Condvar::new(),
            timeout,
        });
        let (accepting, state) = (server.clone(), shared.clone());
        std::thread::spawn(move || {
            for request in accepting.incoming_requests() {
                let state = state.clone();
                // `/next` blocks until an event is queued: one thread per request.
                std::thread::spawn(move || serve(&state, request));
            }
        });
        Self { shared, server, port }
    }

    /// `AWS_LAMBDA_RUNTIME_API` for the function instance `instance`.
    pub fn address_for(&self, instance: &str) -> String {
        format!("http://127.0.0.1:{}/{instance}", self.port)
    }

    /// Queues `event`, waits for a function instance to take it and answer,
    /// and returns the answer; an `/error`, a malformed answer or no answer
    /// within `timeout` is an `Err` saying so.
    pub fn invoke(&self, event: &serde_json::Value, timeout: Duration) -> Result<serde_json::Value, String> {
        let (answer, answered) = mpsc::channel();
        let id = {
            let mut state = self.shared.state.lock().unwrap();
            state.next_id += 1;
            let id = format!("{:08x}-0000-4000-8000-{:012x}", std::process::id(), state.next_id);
            state.queue.push_back(Queued {
                id: id.clone(),
                event: event.to_string().into_bytes(),
                answer,
            });
            id
        };
        self.shared.queued.notify_one();
        match answered.recv_timeout(timeout) {
            Ok(Ok(body)) => serde_json::from_slice(&body).map_err(|e| {
                format!(
                    "{id}: the response is not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                )
            }),
            Ok(Err(error)) => Err(format!("{id}: the function reported an error: {error}")),
            Err(RecvTimeoutError::Timeout) => {
                // Not handed out later to an instance that nobody waits for.
                self.shared.state.lock().unwrap().queue.retain(|q| q.id != id);
                Err(format!("{id}: no answer within {timeout:?}; {}", self.status()))
            }
            Err(RecvTimeoutError::Disconnected) => Err(format!("{id}: the emulator dropped the invocation")),
        }
    }

    /// Instances that have asked for an event at least once.
    fn polled(&self) -> usize {
        self.shared.state.lock().unwrap().polled.len()
    }

    /// Invocations handed to each instance so far.
    pub fn invocations(&self) -> BTreeMap<String, usize> {
        self.shared.state.lock().unwrap().invocations.clone()
    }

    /// The most invocations in progress at once, across instances.
    pub fn peak_in_flight(&self) -> usize {
        self.shared.state.lock().unwrap().peak_in_flight
    }

    /// What functions did that Lambda's Runtime API would refuse, and failed cold starts.
    pub fn violations(&self) -> Vec<String> {
        let state = self.shared.state.lock().unwrap();
        state.violations.iter().chain(&state.init_errors).cloned().collect()
    }

    fn status(&self) -> String {
        let state = self.shared.state.lock().unwrap();
        format!(
            "{} queued, {} in flight, instances polled {:?}, init errors {:?}, violations {:?}",
            state.queue.len(),
            state.in_flight.len(),
            state.polled,
            state.init_errors,
            state.violations
        )
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap().closed = true;
        self.shared.queued.notify_all();
        self.server.unblock();
    }
}

/// `/fn-0/2018-06-01/runtime/invocation/next` → (`fn-0`, `invocation/next`).
fn route(url: &str) -> Option<(&str, &str)> {
    let at = url.find(RUNTIME)?;
    Some((url[..at].trim_matches('/'), &url[at + RUNTIME.len()..]))
}

fn serve(shared: &Shared, mut request: tiny_http::Request) {
    let url = request.url().to_owned();
    let method = request.method().clone();
    let mut body = Vec::new();
    if let Err(e) = request.as_reader().read_to_end(&mut body) {
        let _ = request.respond(reply(400, &format!("unreadable body: {e}")));
        return;
    }
    let Some((instance, path)) = route(&url) else {
        let _ = request.respond(reply(404, "not a Runtime API path"));
        return;
    };
    let instance = instance.to_owned();
    let parts: Vec<&str> = path.split('/').collect();
    let response = match (&method, parts.as_slice()) {
        (tiny_http::Method::Get, ["invocation", "next"]) => next(shared, &instance),
        (tiny_http::Method::Post, ["invocation", id, outcome @ ("response" | "error")]) => {
            let answer = if *outcome == "response" {
                Ok(body)
            } else {
                Err(String::from_utf8_lossy(&body).into_owned())
            };
            answered(shared, &instance, id, answer)
        }
        (tiny_http::Method::Post, ["init", "error"]) => {
            let error = format!("{instance}: {}", String::from_utf8_lossy(&body));
            shared.state.lock().unwrap().init_errors.push(error);
            reply(202, r#"{"status":"OK"}"#)
        }
        _ => {
            let refused = format!("{instance}: {method} {url}");
            shared.state.lock().unwrap().violations.push(refused);
            reply(404, "unknown Runtime API route")
        }
    };
    let _ = request.respond(response);
}

/// `GET …/invocation/next`: the next queued event, once there is one.
fn next(shared: &Shared, instance: &str) -> tiny_http::ResponseBox {
    let mut state = shared.state.lock().unwrap();
    state.polled.insert(instance.to_owned());
    if let Some(id) = state
        .in_flight
        .iter()
        .find(|(_, f)| f.instance == instance)
        .map(|(id, _)| id.clone())
    {
        let refused = format!("{instance} asked for another event before answering {id}");
        state.violations.push(refused.clone());
        return reply(400, &refused);
    }
    loop {
        if state.closed {
            return reply(410, "the emulator is closing");
        }
        if let Some(queued) = state.queue.pop_front() {
            *state.invocations.entry(instance.to_owned()).or_default() += 1;
            state.in_flight.insert(
                queued.id.clone(),
                InFlight {
                    instance: instance.to_owned(),
                    answer: queued.answer,
                },
            );
            state.peak_in_flight = state.peak_in_flight.max(state.in_flight.len());
            drop(state);
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            let trace = format!(
                "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
                now.as_secs(),
                now.as_nanos(),
                now.as_nanos() as u64
            );
            let headers = [
                ("Content-Type", "application/json".to_owned()),
                ("Lambda-Runtime-Aws-Request-Id", queued.id),
                (
                    "Lambda-Runtime-Deadline-Ms",
                    (now + shared.timeout).as_millis().to_string(),
                ),
                ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN.to_owned()),
                ("Lambda-Runtime-Trace-Id", trace),
            ];
            let mut response = tiny_http::Response::from_data(queued.event);
            for (name, value) in headers {
                response.add_header(tiny_http::Header::from_bytes(name, value).unwrap());
            }
            return response.boxed();
        }
        state = shared.queued.wait(state).unwrap();
    }
}

/// `POST …/invocation/{id}/response` or `/error`: back to the caller.
fn answered(shared: &Shared, instance: &str, id: &str, answer: Answer) -> tiny_http::ResponseBox {
    let mut state = shared.state.lock().unwrap();
    match state.in_flight.remove(id) {
        Some(flight) if flight.instance == instance => {
            drop(state);
            // The caller may have given up waiting; the answer is then dropped.
            let _ = flight.answer.send(answer);
            reply(202, r#"{"status":"OK"}"#)
        }
        other => {
            let refused = format!("{instance} answered {id}, which it was not handed");
            state.violations.push(refused.clone());
            if let Some(flight) = other {
                state.in_flight.insert(id.to_owned(), flight);
            }
            reply(400, &refused)
        }
    }
}

fn reply(code: u16, body: &str) -> tiny_http::ResponseBox {
    tiny_http::Response::from_string(body)
        .with_status_code(code)
        .with_header(tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap())
        .boxed()
}

/// What a function process runs: a binary (a `provided.al2023` function's
/// `bootstrap`), or a command with arguments in a working directory, such as
/// a managed runtime's interface client (`python -m awslambdaric app.handler`
/// in the function's folder).
pub struct Launch {
    program: String,
    args: Vec<String>,
    dir: Option<PathBuf>,
    /// `AWS_LAMBDA_RUNTIME_API` without its `http://`, as Lambda gives it.
    bare_address: bool,
}

impl Launch {
    /// A binary, given `AWS_LAMBDA_RUNTIME_API` as a URL (`http://127.0.0.1:<port>/fn-0`),
    /// which the Rust runtime client takes.
    pub fn binary(path: &str) -> Self {
        Self {
            program: path.to_owned(),
            args: Vec::new(),
            dir: None,
            bare_address: false,
        }
    }

    /// `program args…` run in `dir`, given `AWS_LAMBDA_RUNTIME_API` as Lambda
    /// gives it, `host:port` (here `127.0.0.1:<port>/fn-0`): awslambdaric
    /// prefixes `http://` itself. (Its init-error report opens a connection to
    /// the address as `host:port`, which a base path breaks: a failed cold start
    /// shows as the process exiting, with its output, rather than as an init error.)
    pub fn command(program: &str, args: &[&str], dir: &Path) -> Self {
        Self {
            program: program.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            dir: Some(dir.to_owned()),
            bare_address: true,
        }
    }
}

/// Function processes of one binary or command, each on its own instance
/// path of a [`RuntimeApi`]. They are killed when this is dropped (the test
/// ended, passed or panicked), and with the test binary if it dies first.
pub struct Functions {
    children: Vec<(String, Child)>,
    pub logs: Vec<PathBuf>,
}

impl Functions {
    /// Starts `count` processes of `binary` with the environment Lambda gives
    /// a `provided.al2023` function (less what only AWS has) plus `env`;
    /// the instances are `fn-0`, `fn-1`, …, and each one's stdout and
    /// stderr go to its file in `self.logs`.
    pub fn start(api: &RuntimeApi, binary: &str, count: usize, env: &[(&str, String)]) -> Self {
        Self::launch(api, &Launch::binary(binary), count, env)
    }

    /// [`Functions::start`] for any [`Launch`]: a binary or a command.
    pub fn launch(api: &RuntimeApi, launch: &Launch, count: usize, env: &[(&str, String)]) -> Self {
        let program = &launch.program;
        let mut children = Vec::new();
        let mut logs = Vec::new();
        for n in 0..count {
            let instance = format!("fn-{n}");
            let log = std::env::temp_dir().join(format!(
                "cc-number-relay-{}-{}-{instance}.log",
                std::process::id(),
                api.port
            ));
            let file = std::fs::File::create(&log).unwrap();
            let mut address = api.address_for(&instance);
            if launch.bare_address {
                address = address.trim_start_matches("http://").to_owned();
            }
            let mut command = Command::new(program);
            command.args(&launch.args);
            if let Some(dir) = &launch.dir {
                command.current_dir(dir);
            }
            command
                .env_clear()
                .envs([
                    ("AWS_LAMBDA_RUNTIME_API", address),
                    ("AWS_LAMBDA_FUNCTION_NAME", "cc-number-relay".to_owned()),
                    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
                    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
                    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cc-number-relay".to_owned()),
                    ("AWS_LAMBDA_LOG_STREAM_NAME", format!("2026/11/28/[$LATEST]{instance}")),
                    ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
                    ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
                    ("AWS_REGION", "us-east-1".to_owned()),
                    ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
                    ("AWS_ACCESS_KEY_ID", "test".to_owned()),
                    ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
                    ("AWS_SESSION_TOKEN", "test".to_owned()),
                    ("RUST_LOG", "info".to_owned()),
                ])
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdin(Stdio::null())
                .stdout(Stdio::from(file.try_clone().unwrap()))
                .stderr(Stdio::from(file));
            // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("start {program} as {instance}: {e}"));
            children.push((instance, child));
            logs.push(log);
        }
        Self { children, logs }
    }

    /// Waits until every process has asked `api` for an event (its cold
    /// start is over); fails at once, with the processes' output, if one
    /// reports an init error or exits.
    pub fn wait_until_ready(&mut self, api: &RuntimeApi, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let problems = api.violations();
            if !problems.is_empty() {
                return Err(format!("{problems:?}\n{}", self.output()));
            }
            self.check_running()?;
            if api.polled() >= self.children.len() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not all {} instances asked for an event within {timeout:?}; {}\n{}",
                    self.children.len(),
                    api.status(),
                    self.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Fails if a process has exited (a function process runs until killed).
    pub fn check_running(&mut self) -> Result<(), String> {
        for ((instance, child), log) in self.children.iter_mut().zip(&self.logs) {
            if let Ok(Some(exit)) = child.try_wait() {
                let output = std::fs::read_to_string(log).unwrap_or_default();
                return Err(format!("{instance} exited ({exit}):\n{output}"));
            }
        }
        Ok(())
    }

    /// Everything the processes wrote, each line prefixed with its instance.
    pub fn output(&self) -> String {
        let mut out = String::new();
        for ((instance, _), log) in self.children.iter().zip(&self.logs) {
            for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
                out.push_str(&format!("[{instance}] {line}\n"));
            }
        }
        out
    }
}

impl Drop for Functions {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("the function processes' output is kept in {:?}", self.logs);
        } else {
            for log in &self.logs {
                let _ = std::fs::remove_file(log);
            }
        }
    }
}
