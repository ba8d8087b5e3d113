use cc_number_relay::aws;
use cc_number_relay::config::Config;
use cc_number_relay::http::{self, Relay};
use cc_number_relay::observe;
use cc_number_relay::publish::Sinks;
use cc_number_relay::xray::XRay;
use lambda_http::{lambda_runtime, service_fn, tower::Service, Adapter, Error, LambdaEvent};
use serde_json::value::RawValue;
use std::convert::Infallible;

/// lambda_http's answer, serialized as it is, or the fixed one for an event
/// that is no HTTP event.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Answer<R> {
    Http(R),
    Unreadable(serde_json::Value),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("cold start failed: {e}");
            std::process::exit(1);
        }
    };
    let metrics = observe::init(&config.metrics_namespace)?;
    let sdk = aws::sdk_config().await;
    let relay = Relay {
        token: config.verification_token,
        sinks: Sinks::new(&sdk, config.topics, config.dead_letter_queue_url),
        xray: XRay::from_env(),
    };
    let relay = &relay;
    let adapter = Adapter::from(service_fn(move |request| async move {
        Ok::<_, Infallible>(http::handle(relay, request).await)
    }));
    let mut cold_start = true;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let mut adapter = adapter.clone();
        let first = std::mem::take(&mut cold_start);
        async move {
            let answer = match http::parse_event(event.payload.get()) {
                Ok(request) => Answer::Http(adapter.call(LambdaEvent::new(request, event.context)).await?),
                Err(_) => Answer::Unreadable(http::unreadable_event_answer()),
            };
            observe::flush(metrics, first, std::io::stdout().lock());
            Ok::<_, Error>(answer)
        }
    }))
    .await
}
