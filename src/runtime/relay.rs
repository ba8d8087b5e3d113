//! The relay in Lambda: the raw event becomes a request (never failing on
//! what a client sent), the webhook core answers it over the instrumented
//! AWS sink, and metrics are flushed once per invocation.

use super::event::{parse_event, unreadable_event_answer};
use crate::config::TokenSource;
use crate::http::{self, Authenticate, Verifier};
use crate::inventory::Inventory;
use crate::observe;
use crate::sink::instrumented::Instrumented;
use crate::sink::Sink;
use crate::token_store::{secrets_manager, Configured, Fixed};
use crate::xray::{Trace, XRay};
use lambda_http::{lambda_runtime, service_fn, tower::Service, Adapter, Body, Error, LambdaEvent, Request};
use lambda_http::{RequestExt, Response};
use serde_json::value::RawValue;
use std::convert::Infallible;
use std::time::{Instant, SystemTime};

/// Everything a request needs, built once at cold start.
#[derive(Debug)]
pub struct Relay<S, I, A = Verifier<Fixed>> {
    /// Who may send notifications: the default account's tokens, read at
    /// cold start ([`Verifier`]), or those and the registered accounts'
    /// ([`http::AccountVerifier`]).
    pub verifier: A,
    pub sink: S,
    /// `None` without `INVENTORY_TABLE`.
    pub inventory: Option<I>,
    pub xray: XRay,
}

impl<S: Sink, I: Inventory, A: Authenticate> Relay<S, I, A> {
    /// One request, answered; the handler's X-Ray subsegment around it.
    pub async fn answer(&self, request: Request) -> Response<Body> {
        let (started, wall) = (Instant::now(), SystemTime::now());
        let trace = request
            .lambda_context_ref()
            .and_then(|c| c.xray_trace_id.as_deref())
            .and_then(Trace::from_header);
        let sink = Instrumented {
            inner: &self.sink,
            xray: &self.xray,
            trace: trace.as_ref(),
        };
        let outcome = http::handle(&self.verifier, &sink, &self.inventory, &request).await;
        let fault = outcome.status().is_server_error();
        self.xray.handler(trace.as_ref(), wall, started.elapsed(), fault);
        outcome.answer()
    }
}

/// The token store the configuration names, its client built from `sdk`
/// with the relay's short time limits.
pub fn token_store(sdk: &aws_config::SdkConfig, source: TokenSource) -> Configured {
    match source {
        TokenSource::Fixed(tokens) => Configured::Fixed(Fixed(tokens)),
        TokenSource::Secret(arn) => Configured::Secret(secrets_manager::SecretTokens::new(
            sdk,
            arn,
            secrets_manager::RELAY_TIMEOUTS,
        )),
    }
}

/// lambda_http's answer, serialized as it is, or the fixed one for an event
/// that is no HTTP event.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Answer<R> {
    Http(R),
    Unreadable(serde_json::Value),
}

/// Serves invocations until the runtime stops.
pub async fn run<S: Sink + Send, I: Inventory + Send, A: Authenticate + Send>(
    relay: Relay<S, I, A>,
    metrics: &'static metrics_cloudwatch_embedded::Collector,
) -> Result<(), Error> {
    let relay = &relay;
    let adapter = Adapter::from(service_fn(move |request| async move {
        Ok::<_, Infallible>(relay.answer(request).await)
    }));
    let mut cold_start = true;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let mut adapter = adapter.clone();
        let first = std::mem::take(&mut cold_start);
        async move {
            let answer = match parse_event(event.payload.get()) {
                Ok(request) => Answer::Http(adapter.call(LambdaEvent::new(request, event.context)).await?),
                Err(_) => Answer::Unreadable(unreadable_event_answer()),
            };
            observe::flush(metrics, first, std::io::stdout().lock());
            Ok::<_, Error>(answer)
        }
    }))
    .await
}
