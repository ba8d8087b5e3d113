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
        // moto's server (Werkzeug's) closes every connection: it adds
        // `Connection: close` to every answer whatever the protocol version
        // (serving.py: "Always close the connection. This disables HTTP/1.1
        // keep-alive"), so every SDK call opened a new TCP connection (an
        // `strace` of the relay: one `connect` per SNS and DynamoDB call), while
        // in Lambda the SDK's pool keeps its connections to SNS and DynamoDB.
        // Dropping the header is not enough (Werkzeug then drops the
        // connection at the next request). So a small HTTP/1.1 front in
        // moto's process keeps the function's connections alive and forwards
        // each request to moto on a connection of its own; its CPU is moto's
        // process's, not the function's. COLD_START_MOTO_CLOSE=1 measures the
        // old way (a connection per call).
        let keep_alive = std::env::var_os("COLD_START_MOTO_CLOSE").is_none();
        let script = format!("{}{MOTO_MAIN}", if keep_alive { KEEP_ALIVE_FRONT } else { "" });
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
        self.table("bench-inventory", "phoneNumberId")
    }

    /// The accounts table (the registry, key `accountId`), empty: the stack
    /// as deployed serves many accounts, the benchmark's notifications are
    /// the default account's. Its name.
    pub fn accounts_table(&self) -> Result<String, String> {
        self.table("bench-accounts", "accountId")
    }

    fn table(&self, name: &str, key: &str) -> Result<String, String> {
        self.runtime.block_on(async {
            aws_sdk_dynamodb::Client::new(&self.sdk)
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(key)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(key)
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

    /// The notification id the inventory holds for phone number `id`, in `attribute`.
    pub fn recorded(&self, table: &str, id: &str, attribute: &str) -> Result<Option<String>, String> {
        self.runtime.block_on(async {
            let answer = aws_sdk_dynamodb::Client::new(&self.sdk)
                .get_item()
                .table_name(table)
                .key("phoneNumberId", AttributeValue::S(id.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            Ok(answer.item.and_then(|item| item.get(attribute)?.as_s().ok().cloned()))
        })
    }

    /// The AWS requests moto has answered so far, as the keep-alive front
    /// counts them (`None` with `COLD_START_MOTO_CLOSE`: no front).
    pub fn requests(&self) -> Option<u64> {
        if std::env::var_os("COLD_START_MOTO_CLOSE").is_some() {
            return None;
        }
        let mut answer = ureq::get(format!("{}{REQUESTS_PATH}", self.endpoint)).call().ok()?;
        answer.body_mut().read_to_string().ok()?.trim().parse().ok()
    }
}

/// Where the keep-alive front answers how many requests it forwarded.
const REQUESTS_PATH: &str = "/__bench/requests";

/// moto's own server on `BACKEND` (the port asked for, unless the front below took it).
const MOTO_MAIN: &str = "\
import sys
from moto.server import main
main(['-H', '127.0.0.1', '-p', str(globals().get('BACKEND', sys.argv[1]))])
";

/// An HTTP/1.1 server on the port asked for, keeping its clients' connections
/// alive, that forwards each request to moto (on a free port of its own) and
/// answers with moto's status, headers (less `Connection`) and body. It listens
/// only once moto does, so the benchmark's wait for the port still means "moto
/// is up".
const KEEP_ALIVE_FRONT: &str = "\
import http.client, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    BACKEND = s.getsockname()[1]
FORWARDED = [0]
COUNTING = threading.Lock()
class Front(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    def forward(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        if self.path == '/__bench/requests':  # REQUESTS_PATH: not forwarded, not counted
            count = str(FORWARDED[0]).encode()
            self.send_response_only(200)
            self.send_header('Content-Length', str(len(count)))
            self.end_headers()
            self.wfile.write(count)
            return
        with COUNTING:
            FORWARDED[0] += 1
        moto = http.client.HTTPConnection('127.0.0.1', BACKEND)
        moto.request(self.command, self.path, body, dict(self.headers))
        answer = moto.getresponse()
        data = answer.read()
        moto.close()
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in ('connection', 'content-length', 'transfer-encoding'):
                self.send_header(name, value)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward
    def log_message(self, *args):
        pass
def front():
    while True:
        try:
            socket.create_connection(('127.0.0.1', BACKEND)).close()
            break
        except OSError:
            time.sleep(0.05)
    ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Front).serve_forever()
threading.Thread(target=front, daemon=True).start()
";
