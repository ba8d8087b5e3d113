//! One moto server per test binary, and per-test topologies inside it.

use aws_config::BehaviorVersion;
use aws_sdk_sns::config::Credentials;
use cc_number_relay::config::Config;
use cc_number_relay::inventory::dynamodb::DynamoInventory;
pub use cc_number_relay::runtime::relay::Relay;
pub use cc_number_relay::sink::aws::{AwsSink, QueueUrl, TopicArn, Topics};
use lambda_http::{Body, Request, Response};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// A moto that a parent test process already runs (see `super::alone`).
pub const MOTO_ENDPOINT: &str = "CC_NUMBER_RELAY_TEST_MOTO";

/// Accepts TCP connections and never answers: an AWS service that hangs.
pub fn hanging_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts a process that dies with the test binary: it is spawned from a
/// thread that lives until the process exits, with PR_SET_PDEATHSIG.
pub fn spawn_tied(mut command: Command) -> u32 {
    use std::os::unix::process::CommandExt;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn().expect("spawn helper process");
        tx.send(child.id()).unwrap();
        let _ = child.wait();
    });
    rx.recv().unwrap()
}

pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts moto on a free port (no fixed ports: tests may run concurrently).
pub fn start_moto_on(port: u16) -> u32 {
    let mut command = Command::new(super::dev_tool("moto_server"));
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let pid = spawn_tied(command);
    wait_for_port(port, "moto_server");
    pid
}

/// The moto server of this test run, started on first use.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| {
        if let Ok(endpoint) = std::env::var(MOTO_ENDPOINT) {
            return Moto { endpoint };
        }
        let port = free_port();
        start_moto_on(port);
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    })
}

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region("us-east-1")
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// Test-side clients (not the relay's): they create topologies and read queues.
pub struct Aws {
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sdk: aws_config::SdkConfig,
}

impl Aws {
    pub async fn moto() -> Self {
        let sdk = sdk_config(&moto().endpoint).await;
        Self {
            sns: aws_sdk_sns::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sdk,
        }
    }
}

impl Aws {
    /// A topic (FIFO when `fifo`, which needs a `.fifo` name); returns its ARN.
    pub async fn topic(&self, name: &str, fifo: bool) -> String {
        let mut topic = self.sns.create_topic().name(name);
        if fifo {
            topic = topic
                .attributes("FifoTopic", "true")
                .attributes("ContentBasedDeduplication", "false");
        }
        topic.send().await.unwrap().topic_arn.unwrap()
    }

    /// A queue subscribed to `topic_arn` with raw delivery, as the README
    /// tells consumers to subscribe; returns the queue URL.
    pub async fn subscriber(&self, topic_arn: &str, queue_name: &str, fifo: bool) -> String {
        let mut queue = self.sqs.create_queue().queue_name(queue_name);
        if fifo {
            queue = queue.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        }
        let queue_url = queue.send().await.unwrap().queue_url.unwrap();
        self.sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:us-east-1:123456789012:{queue_name}"))
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        queue_url
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A name no other test of this run uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Three topics, one raw-delivery subscriber queue each, and a dead-letter queue.
pub struct Topology {
    pub topics: [String; 3],
    pub subscribers: [String; 3],
    pub dead_letter_queue: String,
}

pub const EVENT_TYPES: [&str; 3] = ["Created", "Updated", "Deleted"];

impl Topology {
    pub async fn create(aws: &Aws, fifo: bool) -> Self {
        Self::create_named(aws, fifo, &unique("t")).await
    }

    /// The same prefix gives the same names, so the same ARNs and URLs.
    pub async fn create_named(aws: &Aws, fifo: bool, prefix: &str) -> Self {
        let suffix = if fifo { ".fifo" } else { "" };
        let unique = |name: &str| format!("{prefix}-{name}");
        let mut topics = Vec::new();
        let mut subscribers = Vec::new();
        for kind in EVENT_TYPES {
            let topic_arn = aws.topic(&format!("{}{suffix}", unique(kind)), fifo).await;
            let queue_name = format!("{}{suffix}", unique(&format!("{kind}-sub")));
            let queue_url = aws.subscriber(&topic_arn, &queue_name, fifo).await;
            topics.push(topic_arn);
            subscribers.push(queue_url);
        }
        let dead_letter_queue = aws
            .sqs
            .create_queue()
            .queue_name(unique("dlq"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        Self {
            topics: topics.try_into().unwrap(),
            subscribers: subscribers.try_into().unwrap(),
            dead_letter_queue,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CREATED_TOPIC_ARN", self.topics[0].clone()),
            ("UPDATED_TOPIC_ARN", self.topics[1].clone()),
            ("DELETED_TOPIC_ARN", self.topics[2].clone()),
            ("DEAD_LETTER_QUEUE_URL", self.dead_letter_queue.clone()),
            ("VERIFICATION_TOKEN", super::TOKEN.to_owned()),
        ]
    }

    pub fn config(&self) -> Config {
        let env = self.env();
        Config::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap()
    }

    pub fn relay(&self, sdk: &aws_config::SdkConfig) -> TestRelay {
        let config = self.config();
        Relay {
            verifier: crate::support::verifier(),
            sink: AwsSink::new(sdk, config.topics, config.dead_letter_queue_url),
            inventory: None,
            xray: Default::default(),
        }
    }

    pub fn subscriber_of(&self, event_type: &str) -> &str {
        &self.subscribers[EVENT_TYPES.iter().position(|k| *k == event_type).unwrap()]
    }
}

/// The relay as `main.rs` builds it: the AWS sink, and an inventory when the test gives it one.
pub type TestRelay = Relay<AwsSink, DynamoInventory>;

/// One request through the relay, answered as Lambda would answer it.
pub async fn handle(relay: &TestRelay, request: Request) -> Response<Body> {
    relay.answer(request).await
}

/// A sink whose topics and queue are named but do not exist on moto.
pub fn missing_sinks(sdk: &aws_config::SdkConfig, existing_queue: Option<&str>) -> AwsSink {
    let arn = |n: &str| TopicArn::parse(format!("arn:aws:sns:us-east-1:123456789012:absent-{n}")).unwrap();
    let queue = existing_queue
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}/123456789012/absent-dlq", moto().endpoint));
    AwsSink::new(
        sdk,
        Topics {
            created: arn("c"),
            updated: arn("u"),
            deleted: arn("d"),
        },
        QueueUrl::parse(queue).unwrap(),
    )
}

/// A message as a subscriber queue hands it out.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Receives (and deletes) what is on the queue right now. moto fans SNS out
/// to SQS inside the Publish call, so nothing is still in flight.
pub async fn drain_now(aws: &Aws, queue: &str) -> Vec<Received> {
    receive(aws, queue, 0, Duration::ZERO).await
}

/// Receives (and deletes) everything on the queue until `expected` messages
/// arrived and a further poll finds nothing, or 10 s pass.
pub async fn drain(aws: &Aws, queue: &str, expected: usize) -> Vec<Received> {
    receive(aws, queue, expected, Duration::from_secs(10)).await
}

async fn receive(aws: &Aws, queue: &str, expected: usize, patience: Duration) -> Vec<Received> {
    use aws_sdk_sqs::types::MessageSystemAttributeName as A;
    let deadline = Instant::now() + patience;
    let quiet_polls_needed = if patience.is_zero() { 1 } else { 2 };
    let mut out = Vec::new();
    let mut empty_polls_after_expected = 0;
    loop {
        let response = aws
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(A::MessageGroupId)
            .message_system_attribute_names(A::MessageDeduplicationId)
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap();
        let messages = response.messages.unwrap_or_default();
        if messages.is_empty() {
            if out.len() >= expected {
                empty_polls_after_expected += 1;
                if empty_polls_after_expected >= quiet_polls_needed {
                    break;
                }
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        // One DeleteMessageBatch per receive (up to 10), not a DeleteMessage each:
        // the burst test drains 1,000 messages.
        let mut delete = aws.sqs.delete_message_batch().queue_url(queue);
        for (i, m) in messages.iter().enumerate() {
            delete = delete.entries(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle.clone().unwrap())
                    .build()
                    .unwrap(),
            );
        }
        let deleted = delete.send().await.unwrap();
        assert!(deleted.failed.is_empty(), "{:?}", deleted.failed);
        for m in messages {
            let system = m.attributes.clone().unwrap_or_default();
            out.push(Received {
                body: m.body.clone().unwrap_or_default(),
                attributes: m
                    .message_attributes
                    .clone()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.string_value.unwrap_or_default()))
                    .collect(),
                group_id: system.get(&A::MessageGroupId).cloned(),
                deduplication_id: system.get(&A::MessageDeduplicationId).cloned(),
            });
        }
    }
    out
}

/// The published schema of a change, compiled once.
pub fn schema() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: serde_json::Value = serde_json::from_str(cc_number_relay::change::SCHEMA).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    })
}

/// Validates a message body against the published schema.
pub fn assert_matches_schema(body: &serde_json::Value) {
    let errors: Vec<String> = schema()
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "message does not match the schema: {errors:?}\n{body}"
    );
}
