//! A minimal lambda_runtime function for SQS events: it answers
//! `{"batchItemFailures":[]}` to any event. The floor the directory
//! benchmark measures cc-number-directory's cold start against (perf/hello is
//! its lambda_http counterpart, for the relay).

use aws_lambda_events::sqs::SqsBatchResponse;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Ok::<_, Error>(SqsBatchResponse::default())
    }))
    .await
}
