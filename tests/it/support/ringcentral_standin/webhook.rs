//! Webhook addresses that misbehave on purpose (or behave), for the
//! stand-in's handshake and deliveries: tiny loopback HTTP servers that
//! write their answers byte by byte, so that an answer can be exactly the
//! size a test needs (RingCentral's limit is 1,024 bytes, headers included).

use super::raw::{header, read_request};
use lambda_http::http::StatusCode;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// 200, echoing Validation-Token; notifications get 200 `{}`.
    Echo,
    /// 200 without Validation-Token.
    NoEcho,
    /// 200 echoing another value.
    WrongEcho,
    /// Echoes, padded so that the whole answer is exactly this many bytes.
    Sized(usize),
    /// Echoes handshakes; answers notifications 404 (a wrong route, say).
    NotFoundForNotifications,
    /// Reads the request and never answers, keeping the connection open.
    Silent,
    /// As `Echo`, but a handshake is answered only after this long (each
    /// on its own connection, so handshakes at once overlap): a
    /// subscription takes that long to create.
    SlowHandshake(Duration),
}

/// What the webhook received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

pub struct FakeWebhook {
    pub address: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl FakeWebhook {
    pub fn start(behavior: Behavior) -> FakeWebhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let Some((headers, body)) = read_request(&mut stream) else {
                    continue;
                };
                let request = Received { headers, body };
                let token = request.header("validation-token").map(str::to_owned);
                let handshake = request.body.is_empty();
                log.lock().unwrap().push(request);
                if behavior == Behavior::Silent {
                    held.push(stream);
                    continue;
                }
                let answer = respond(behavior, handshake, token.as_deref());
                if let (Behavior::SlowHandshake(delay), true) = (behavior, handshake) {
                    std::thread::spawn(move || {
                        std::thread::sleep(delay);
                        let _ = stream.write_all(&answer);
                    });
                    continue;
                }
                let _ = stream.write_all(&answer);
            }
        });
        FakeWebhook { address, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn respond(behavior: Behavior, handshake: bool, token: Option<&str>) -> Vec<u8> {
    let token = token.unwrap_or_default();
    let (status, echo, body) = match behavior {
        Behavior::NotFoundForNotifications if !handshake => (404, None, r#"{"message":"Not Found"}"#),
        Behavior::NoEcho => (200, None, ""),
        Behavior::WrongEcho => (200, Some(format!("{token}-not")), ""),
        _ if handshake => (200, Some(token.to_owned()), ""),
        _ => (200, None, "{}"),
    };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        StatusCode::from_u16(status).unwrap().canonical_reason().unwrap(),
        body.len()
    );
    if let Some(echo) = echo {
        head.push_str(&format!("Validation-Token: {echo}\r\n"));
    }
    if let Behavior::Sized(total) = behavior {
        let bare = head.len() + "X-Pad: \r\n\r\n".len() + body.len();
        assert!(
            total >= bare,
            "a {total}-byte answer cannot hold the {bare} bytes it needs"
        );
        head.push_str(&format!("X-Pad: {}\r\n", "p".repeat(total - bare)));
    }
    head.push_str("\r\n");
    let mut answer = head.into_bytes();
    answer.extend_from_slice(body.as_bytes());
    if let Behavior::Sized(total) = behavior {
        assert_eq!(answer.len(), total);
    }
    answer
}
