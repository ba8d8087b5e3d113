//! The relay's cold start, step by step: the steps of `src/main.rs` in its
//! order, through the relay's library, then one invocation the way the runtime
//! loop hands it over. After each step it reads the process's CPU time (all
//! threads, `CLOCK_PROCESS_CPUTIME_ID`, nanoseconds) and, at exit, prints one
//! `step<TAB>cumulative ns` line per step on stderr (stdout carries the relay's
//! logs and metrics, as in Lambda).
//!
//! Run by `benches/cold_start` (COLD_START_STEPS) with the environment it gives
//! the relay; `argv[1]` is the event of the first invocation, `argv[2]` (if
//! given) that of a second one.

use cc_number_relay::config::Config;
use cc_number_relay::inventory::dynamodb::{DynamoInventory, RELAY_TIMEOUTS};
use cc_number_relay::observe;
use cc_number_relay::runtime::{self, aws, relay::Relay};
use cc_number_relay::sink::aws::AwsSink;
use cc_number_relay::xray::XRay;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::{service_fn, tower::Service, Adapter};
use std::convert::Infallible;

/// CPU time of this process so far, all threads (`CLOCK_PROCESS_CPUTIME_ID`,
/// which, unlike `/proc/self/*/schedstat`, includes the running slice).
fn cpu_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

struct Steps(Vec<(&'static str, u64)>);

impl Steps {
    fn mark(&mut self, step: &'static str) {
        self.0.push((step, cpu_ns()));
    }
}

/// `--parts`: what building an SDK client is made of, piece by piece, before
/// the relay's own `AwsSink::new` (which then finds some of it done).
fn parts(steps: &mut Steps, sdk: &aws_config::SdkConfig) {
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    steps.mark("parts: aws-lc-rs crypto provider");
    let config = |roots: rustls::RootCertStore| {
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth()
    };
    let _ = config(rustls::RootCertStore::empty());
    steps.mark("parts: rustls ClientConfig, no roots (first)");
    let _ = config(rustls::RootCertStore::empty());
    steps.mark("parts: rustls ClientConfig, no roots (again)");
    let native = rustls_native_certs::load_native_certs();
    steps.mark("parts: read and decode the system's roots (PEM)");
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(native.certs.clone());
    steps.mark("parts: parse them into trust anchors");
    let _ = config(roots);
    steps.mark("parts: rustls ClientConfig with them");
    let _ = aws_sdk_sns::Client::new(sdk);
    steps.mark("parts: an SNS client (SDK defaults)");
    let _ = aws_sdk_sns::Client::new(sdk);
    steps.mark("parts: another SNS client");
    let _ = aws_sdk_sqs::Client::new(sdk);
    steps.mark("parts: an SQS client (SDK defaults)");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut steps = Steps(Vec::with_capacity(16));
    steps.mark("exec to main (loader, std, tokio runtime)");
    let event = std::fs::read_to_string(std::env::args().nth(1).expect("the event's path")).expect("the event");
    steps.mark("probe: read the event file");

    lambda_http::tracing::init_default_subscriber();
    steps.mark("tracing subscriber (as hello-world)");
    let config = Config::from_env().expect("the relay's environment");
    steps.mark("relay config from the environment");
    let metrics = observe::init(&config.metrics_namespace).expect("metrics");
    steps.mark("metrics recorder (EMF)");
    let sdk = aws::sdk_config().await;
    steps.mark("SDK config (aws::sdk_config)");
    if std::env::args().any(|a| a == "--parts") {
        parts(&mut steps, &sdk);
    }
    let sink = AwsSink::new(&sdk, config.topics, config.dead_letter_queue_url);
    steps.mark("SDK clients (AwsSink::new)");
    let inventory = config
        .inventory_table
        .map(|table| DynamoInventory::new(&sdk, table, RELAY_TIMEOUTS));
    steps.mark("inventory client (when INVENTORY_TABLE is set)");
    let verifier = cc_number_relay::http::Verifier::load(runtime::relay::token_store(&sdk, config.tokens))
        .await
        .expect("the verification tokens");
    steps.mark("verification tokens (GetSecretValue with VERIFICATION_TOKEN_SECRET_ARN)");
    let xray = XRay::from_env();
    steps.mark("X-Ray emitter");
    let relay = Relay {
        verifier,
        sink,
        inventory,
        xray,
    };
    let relay = &relay;
    let mut adapter = Adapter::from(service_fn(move |request| async move {
        Ok::<_, Infallible>(relay.answer(request).await)
    }));
    steps.mark("handler service");

    // The first invocation, as src/main.rs's runtime loop runs it.
    let request = runtime::parse_event(&event).expect("an HTTP event");
    let answer = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("an answer");
    let body = serde_json::to_vec(&answer).expect("serializable");
    steps.mark("first invocation (event to answer, incl. the SNS publish)");
    observe::flush(metrics, true, std::io::stdout().lock());
    steps.mark("metrics flush (EMF to stdout)");
    // A second, warm one (argv[2], a later notification): the first one's
    // excess over it is what each client's first call sets up once.
    let mut answers = vec![body];
    if let Some(second) = std::env::args().nth(2).filter(|a| !a.starts_with("--")) {
        let event = std::fs::read_to_string(second).expect("the second event");
        let request = runtime::parse_event(&event).expect("an HTTP event");
        let answer = adapter
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .expect("an answer");
        answers.push(serde_json::to_vec(&answer).expect("serializable"));
        steps.mark("second invocation (warm: the same calls, nothing left to set up)");
        observe::flush(metrics, false, std::io::stdout().lock());
        steps.mark("metrics flush (EMF to stdout), again");
    }

    let mut out = String::new();
    for (step, ns) in &steps.0 {
        out.push_str(&format!("{step}\t{ns}\n"));
    }
    for body in answers {
        out.push_str(&format!("answer\t{}\n", String::from_utf8_lossy(&body)));
    }
    eprint!("{out}");
}
