use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::BehaviorVersion;
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
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    // Lambda puts credentials and region in the environment; taking them from
    // there, with no profile files, skips the default chains' profile-file and
    // IMDS probes at cold start. AWS_ENDPOINT_URL(_SNS/_SQS) are still read.
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
        if let Ok(region) = std::env::var("AWS_REGION") {
            #[allow(deprecated)] // aws-config's alias of aws-runtime's EnvConfigFiles
            let no_profile_files = aws_config::profile::profile_file::ProfileFiles::builder()
                .with_contents(aws_config::profile::profile_file::ProfileFileKind::Config, "")
                .build();
            loader = loader
                .region(aws_config::Region::new(region))
                .profile_files(no_profile_files);
        }
    }
    // The SDK's HTTPS client loads the system's root certificates at cold start:
    // with neither SSL_CERT_FILE nor SSL_CERT_DIR set it reads the CA bundle and
    // then every file of the certificate directory, which holds the same
    // certificates again (on Amazon Linux, the bundle itself). Naming the bundle
    // reads them once: the same roots, about half the init CPU (PERFORMANCE.md).
    if std::env::var_os("SSL_CERT_FILE").is_none() && std::env::var_os("SSL_CERT_DIR").is_none() {
        let bundles = ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"];
        if let Some(bundle) = bundles.into_iter().find(|b| std::path::Path::new(b).is_file()) {
            // Still one thread: nothing reads the environment concurrently.
            std::env::set_var("SSL_CERT_FILE", bundle);
        }
    }
    let sdk = loader.load().await;
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
