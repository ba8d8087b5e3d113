//! moto on a free loopback port, and the relay's topics, queue and inventory table in it.
//! Shared by the cold-start and the reconciliation benchmarks; it needs the
//! including crate root to have `mod process` (process.rs), `manifest_dir()`
//! and `TOKEN`.

use super::process::spawn_tied;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    child: Child,
    runtime: tokio::runtime::Runtime,
    sdk: aws_config::SdkConfig,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    pub fn start() -> Result<Self, String> {
        let venv = super::manifest_dir().join(".venv/bin/python");
        let program = if venv.exists() { venv } else { "python3".into() };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        // moto's server answers HTTP/1.0-style, closing every connection, so
        // every AWS call would open a new one; in Lambda the SDK's connections
        // to SNS and DynamoDB are kept alive. HTTP/1.1 keeps them here too
        // (COLD_START_MOTO_CLOSE=1 measures the old way).
        let keep_alive = std::env::var_os("COLD_START_MOTO_CLOSE").is_none();
        let script = format!(
            "import sys\n\
             from moto.moto_server.werkzeug_app import MotoRequestHandler\n\
             if {}: MotoRequestHandler.protocol_version = 'HTTP/1.1'\n\
             from moto.server import main\n\
             main(['-H', '127.0.0.1', '-p', sys.argv[1]])",
            if keep_alive { "True" } else { "False" }
        );
        let child = spawn_tied(
            Command::new(&program)
                .args(["-c", &script, &port.to_string()])
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
        let endpoint = format!("http://127.0.0.1:{port}");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let sdk = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&endpoint)
                .region("us-east-1")
                .credentials_provider(aws_sdk_sns::config::Credentials::new(
                    "test", "test", None, None, "bench",
                ))
                .load(),
        );
        Ok(Self {
            endpoint,
            child,
            runtime,
            sdk,
        })
    }

    /// Three topics and a dead-letter queue, as the relay's environment.
    pub fn topology(&self) -> Result<Vec<(&'static str, String)>, String> {
        self.runtime.block_on(async {
            let sns = aws_sdk_sns::Client::new(&self.sdk);
            let sqs = aws_sdk_sqs::Client::new(&self.sdk);
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

    /// The inventory table, shaped as template.yaml declares it (key
    /// `phoneNumberId`, a string; on demand). Its name.
    pub fn inventory_table(&self) -> Result<String, String> {
        let name = "bench-inventory";
        self.runtime.block_on(async {
            aws_sdk_dynamodb::Client::new(&self.sdk)
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("phoneNumberId")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("phoneNumberId")
                        .key_type(KeyType::Hash)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| e.to_string())?;
            Ok(name.to_owned())
        })
    }

    /// The token secret, as the stack creates it, holding `TOKEN`; its ARN.
    pub fn token_secret(&self) -> Result<String, String> {
        self.runtime.block_on(async {
            let created = aws_sdk_secretsmanager::Client::new(&self.sdk)
                .create_secret()
                .name("bench-verification-token")
                .secret_string(format!(r#"{{"current":"{}","previous":""}}"#, super::TOKEN))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            created.arn.ok_or_else(|| "CreateSecret returned no ARN".to_owned())
        })
    }

    /// The notification id the inventory holds for phone number `id`.
    pub fn recorded_notification(&self, table: &str, id: &str) -> Result<Option<String>, String> {
        self.runtime.block_on(async {
            let answer = aws_sdk_dynamodb::Client::new(&self.sdk)
                .get_item()
                .table_name(table)
                .key("phoneNumberId", AttributeValue::S(id.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            Ok(answer
                .item
                .and_then(|item| item.get("notificationId")?.as_s().ok().cloned()))
        })
    }
}
