//! The webhook on one Created notification, single-account against many
//! accounts with the notification's account already known: what the claim
//! read, the cache look-up and the account check add. Every future here is
//! ready at once (memory registry, memory tokens, recording sink, no
//! inventory), so each call is polled once, with no runtime around it.

use cc_number_relay::change::{AccountId, Timestamp};
use cc_number_relay::http::{handle, AccountVerifier, Limits, Outcome, Verifier};
use cc_number_relay::inventory::memory::MemoryInventory;
use cc_number_relay::registry::memory::MemoryRegistry;
use cc_number_relay::registry::{Account, AccountSummary, SubscriptionRecord};
use cc_number_relay::ringcentral::Secret;
use cc_number_relay::sink::recording::RecordingSink;
use cc_number_relay::token::{TokenSet, VerificationToken};
use cc_number_relay::token_store::memory::MemoryTokens;
use cc_number_relay::token_store::Fixed;
use criterion::{BatchSize, Criterion};
use lambda_http::{Body, Request};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Serving many accounts may cost a known account's notification this much more.
const BUDGET: f64 = 1.05;
const ACCOUNTS: u32 = 1_000;
/// The account and subscription `events/bodies/created.json` names.
const ACCOUNT: &str = "37439510";
const SUBSCRIPTION: &str = "9d38419f-645f-4ee3-a053-8cf1368c21c4";
/// Tokens of one length: the comparison costs the same on both sides.
const DEFAULT_TOKEN: &str = "tokenOfTheDefaultAccount0123456D";
const ACCOUNT_TOKEN: &str = "tokenOfTheNotificationsAccount0A";

type Single = Verifier<Fixed>;
type Many = AccountVerifier<&'static MemoryRegistry, MemoryTokens>;

fn token(value: &str) -> VerificationToken {
    VerificationToken::parse(value.to_owned()).expect("a token")
}

fn request(token_value: &str) -> Request {
    let body = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/events/bodies/created.json"))
        .expect("events/bodies/created.json");
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/ringcentral/contact-center-numbers")
        .header("verification-token", token_value)
        .body(Body::Text(body))
        .expect("a request")
}

fn account(id: &str, token_value: &str, subscription: &str) -> Account {
    Account {
        summary: AccountSummary {
            account_id: AccountId::parse(id).expect("an account id"),
            address: "https://relay.example/ringcentral/contact-center-numbers".into(),
            added_at: Timestamp::parse("2026-12-01T00:00:00Z").expect("a timestamp"),
            subscription: Some(SubscriptionRecord {
                id: subscription.into(),
                status: "Active".into(),
                expires_at: None,
            }),
            last_checked_at: None,
            last_reconciled_at: None,
            last_finding: None,
        },
        jwt: Secret::new("jwt".into()),
        tokens: TokenSet::single(token(token_value)),
    }
}

/// 1,000 registered accounts, the notification's among them, and its
/// account already read; the registry is leaked to count its reads after.
fn many() -> (Many, &'static MemoryRegistry) {
    let others = (1..ACCOUNTS).map(|n| {
        let id = (50_000_000 + n).to_string();
        account(&id, &format!("tokenOfAccount{id}0123456789"), &format!("sub-{id}"))
    });
    let registry = MemoryRegistry::with(others.chain([account(ACCOUNT, ACCOUNT_TOKEN, SUBSCRIPTION)]));
    let registry: &'static MemoryRegistry = Box::leak(Box::new(registry));
    let defaults = TokenSet::single(token(DEFAULT_TOKEN));
    let default = Verifier::with(
        MemoryTokens::new(defaults.clone()),
        defaults,
        Limits::DEFAULT.reread_interval,
    );
    let many = AccountVerifier::new(default, registry, Limits::DEFAULT);
    published(one(&many, &request(ACCOUNT_TOKEN), &RecordingSink::default()));
    (many, registry)
}

fn single() -> Single {
    let single = Verifier::fixed(token(DEFAULT_TOKEN));
    published(one(&single, &request(DEFAULT_TOKEN), &RecordingSink::default()));
    single
}

fn published(outcome: Outcome) {
    assert!(
        matches!(outcome, Outcome::Published { .. }),
        "not published: {outcome:?}"
    );
}

fn one(verifier: &impl cc_number_relay::http::Authenticate, request: &Request, sink: &RecordingSink) -> Outcome {
    ready(handle(verifier, sink, &None::<MemoryInventory>, request))
}

/// Polls a future that never waits.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a future of the benchmark waited"),
    }
}

pub fn handle_by_account(c: &mut Criterion) {
    let (single, (many, _)) = (single(), many());
    let (a, b) = (request(DEFAULT_TOKEN), request(ACCOUNT_TOKEN));
    let mut group = c.benchmark_group("accounts");
    group.bench_function("single_account", |bench| {
        bench.iter_batched_ref(
            RecordingSink::default,
            |sink| one(&single, black_box(&a), sink),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("many_accounts", |bench| {
        bench.iter_batched_ref(
            RecordingSink::default,
            |sink| one(&many, black_box(&b), sink),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Nanoseconds per call over `n` calls, a new sink each (it keeps what it is given).
fn time(n: u32, verifier: &impl cc_number_relay::http::Authenticate, request: &Request) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        let sink = RecordingSink::default();
        black_box(one(verifier, black_box(request), &sink));
    }
    started.elapsed().as_nanos() as f64 / f64::from(n)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|x, y| x.total_cmp(y));
    values[values.len() / 2]
}

/// Both sides in turn, round after round (this machine's speed drifts, so
/// only a ratio taken side by side is a budget).
pub fn interleaved_ratio() -> String {
    let (single, (many, registry)) = (single(), many());
    let (a, b) = (request(DEFAULT_TOKEN), request(ACCOUNT_TOKEN));
    let reads_before = registry.token_reads();
    let (rounds, n) = (31, 20_000);
    let (mut singles, mut manys, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let s = time(n, &single, &a);
        let m = time(n, &many, &b);
        singles.push(s);
        manys.push(m);
        ratios.push(m / s);
    }
    assert_eq!(
        registry.token_reads(),
        reads_before,
        "a known account cost a registry read"
    );
    let (lo, hi) = (
        ratios.iter().copied().fold(f64::MAX, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    let ratio = median(ratios);
    let verdict = if ratio <= BUDGET { "within" } else { "OVER BUDGET" };
    format!(
        "\nhandle, one Created notification (RecordingSink, no inventory): medians of {rounds} interleaved rounds of {n} calls; budget: many_accounts <= {BUDGET}x single_account\n\
         single_account {:>7.0} ns  many_accounts ({ACCOUNTS} registered, warm) {:>7.0} ns  {ratio:.3}x  {verdict} (rounds {lo:.3}-{hi:.3})\n",
        median(singles),
        median(manys),
    )
}
