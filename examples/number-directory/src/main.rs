//! A directory of the account's Contact Center numbers, kept by the
//! consumer kit: each change applied once and in order per number, in one
//! conditional write to `DIRECTORY_TABLE` (the kit's DynamoDB ledger, whose
//! items are the directory). Everything here is wiring; the handler is the
//! side effect a team adds (here: a debug line per applied change).

use cc_number_change::aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cc_number_change::{Change, DynamoDbLedger, Subscriber};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let table =
        std::env::var("DIRECTORY_TABLE").map_err(|_| "DIRECTORY_TABLE is not set: the directory table's name")?;
    let config = aws_config::load_from_env().await;
    let subscriber = Subscriber::new(DynamoDbLedger::new(aws_sdk_dynamodb::Client::new(&config), table));
    let subscriber = &subscriber;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(subscriber.sqs(event.payload, on_applied).await)
    }))
    .await
}

/// Runs once per change the directory applied (never for a duplicate or a stale one).
/// The directory's write is its side effect; this line is at debug level, as
/// the kit's EMF counts already say how many were applied.
async fn on_applied(change: Change) -> Result<(), Error> {
    let contact_center = change.leaves_contact_center_number();
    tracing::debug!(phone_number_id = %change.phone_number.id, change_type = %change.change_type, contact_center, "directory updated");
    Ok(())
}
