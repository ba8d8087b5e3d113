//! A typical full relay, hand-written without this project: the peer the
//! cold-start benchmark measures the relay as deployed (token secret,
//! inventory) against. At cold start `aws_config::load_from_env` and the
//! verification token read once from Secrets Manager; per notification the
//! token compared, the body into a `serde_json::Value`, then a plain GetItem
//! on the inventory, a Publish of the body to the topic of its eventType and
//! a plain PutItem of the number id, uuid and timestamp. Default client
//! settings, no validation, no metrics, no log line per notification.
//! It reads the relay's environment variables (CREATED/UPDATED/DELETED_TOPIC_ARN,
//! INVENTORY_TABLE, VERIFICATION_TOKEN_SECRET_ARN).

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{service_fn, Body, Error, Request, Response};
use serde_json::Value;

struct Peer {
    sns: aws_sdk_sns::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    topics: [String; 3],
    token: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = aws_config::load_from_env().await;
    let secret = aws_sdk_secretsmanager::Client::new(&config)
        .get_secret_value()
        .secret_id(std::env::var("VERIFICATION_TOKEN_SECRET_ARN")?)
        .send()
        .await?;
    let tokens: Value = serde_json::from_str(secret.secret_string().unwrap_or_default())?;
    let peer = Peer {
        sns: aws_sdk_sns::Client::new(&config),
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        table: std::env::var("INVENTORY_TABLE")?,
        topics: [
            std::env::var("CREATED_TOPIC_ARN")?,
            std::env::var("UPDATED_TOPIC_ARN")?,
            std::env::var("DELETED_TOPIC_ARN")?,
        ],
        token: tokens["current"].as_str().unwrap_or_default().to_owned(),
    };
    let peer = &peer;
    lambda_http::run(service_fn(
        move |request: Request| async move { peer.answer(request).await },
    ))
    .await
}

impl Peer {
    async fn answer(&self, request: Request) -> Result<Response<Body>, Error> {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        if let Some(validation) = header("validation-token") {
            return Ok(Response::builder()
                .header("validation-token", validation)
                .body(Body::Empty)?);
        }
        if header("verification-token") != Some(self.token.as_str()) {
            return Ok(Response::builder().status(401).body(Body::Empty)?);
        }
        let body = std::str::from_utf8(request.body().as_ref())?;
        let notification: Value = serde_json::from_str(body)?;
        let topic = match notification["body"]["eventType"].as_str() {
            Some("Created") => &self.topics[0],
            Some("Updated") => &self.topics[1],
            _ => &self.topics[2],
        };
        // RingCentral sends the id as a string or as a number.
        let id = match &notification["body"]["phoneNumberInfo"]["id"] {
            Value::Number(id) => id.to_string(),
            id => id.as_str().unwrap_or_default().to_owned(),
        };
        let id = AttributeValue::S(id);
        self.dynamodb
            .get_item()
            .table_name(&self.table)
            .key("phoneNumberId", id.clone())
            .send()
            .await?;
        self.sns.publish().topic_arn(topic).message(body).send().await?;
        let field = |key: &str| AttributeValue::S(notification[key].as_str().unwrap_or_default().to_owned());
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .item("phoneNumberId", id)
            .item("uuid", field("uuid"))
            .item("timestamp", field("timestamp"))
            .send()
            .await?;
        Ok(Response::new(Body::from(r#"{"status":"published"}"#)))
    }
}
