//! A small Lambda Runtime API emulator, written for this benchmark (it is not
//! AWS's Runtime Interface Emulator): it serves
//! `GET /2018-06-01/runtime/invocation/next` and
//! `POST /2018-06-01/runtime/invocation/{id}/response` (and reports
//! `/error` and `/init/error` as failures) over plain HTTP/1.1 on loopback.
//!
//! Each accepted connection has a thread that reads requests and hands them
//! to the benchmark, which answers them in the order a function's runtime
//! loop asks. Times are taken on those threads: when a request has been read
//! whole, and when the answer to `/next` has been written.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

pub struct RuntimeApiEmulator {
    address: SocketAddr,
    incoming: Receiver<Incoming>,
    /// The function's `/next` request, waiting for an event.
    pending_next: Option<Incoming>,
}

struct Incoming {
    method: String,
    path: String,
    body: Vec<u8>,
    /// When the request had been read whole.
    at: Instant,
    reply: Sender<Reply>,
}

struct Reply {
    bytes: Vec<u8>,
    written: Option<Sender<Instant>>,
}

/// One invocation as the Runtime API saw it.
pub struct Invocation {
    /// From the event written to the function to its response read whole.
    pub duration: Duration,
    pub response: Vec<u8>,
}

impl RuntimeApiEmulator {
    pub fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let tx = tx.clone();
                std::thread::spawn(move || serve(stream, tx));
            }
        });
        Ok(Self {
            address,
            incoming,
            pending_next: None,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    fn receive(&self, timeout: Duration) -> Result<Incoming, String> {
        let request = match self.incoming.recv_timeout(timeout) {
            Ok(request) => request,
            Err(RecvTimeoutError::Timeout) => return Err(format!("no request from the function within {timeout:?}")),
            Err(RecvTimeoutError::Disconnected) => return Err("the emulator stopped".into()),
        };
        if request.path.ends_with("/error") {
            let body = String::from_utf8_lossy(&request.body).into_owned();
            let _ = request.reply.send(Reply {
                bytes: response("202 Accepted", &[], br#"{"status":"OK"}"#),
                written: None,
            });
            return Err(format!(
                "the function reported {} {}: {body}",
                request.method, request.path
            ));
        }
        Ok(request)
    }

    /// Waits for the function's `GET /next`; returns when it was read.
    pub fn wait_for_next(&mut self, timeout: Duration) -> Result<Instant, String> {
        if let Some(pending) = &self.pending_next {
            return Ok(pending.at);
        }
        let request = self.receive(timeout)?;
        if request.method != "GET" || request.path != NEXT {
            return Err(format!(
                "expected GET {NEXT}, the function sent {} {}",
                request.method, request.path
            ));
        }
        let at = request.at;
        self.pending_next = Some(request);
        Ok(at)
    }

    /// Hands `event` to the function's waiting `/next`, takes its response,
    /// and returns once the function has asked for the next event again
    /// (so it is idle when this returns).
    pub fn invoke(&mut self, request_id: &str, event: &[u8], timeout: Duration) -> Result<Invocation, String> {
        self.wait_for_next(timeout)?;
        let next = self.pending_next.take().expect("a pending /next");
        let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() + 3_000;
        let headers = [
            ("Content-Type", "application/json".to_owned()),
            ("Lambda-Runtime-Aws-Request-Id", request_id.to_owned()),
            ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
            ),
            (
                "Lambda-Runtime-Trace-Id",
                format!(
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled={}",
                    u8::from(std::env::var_os("COLD_START_XRAY").is_some())
                ),
            ),
        ];
        let (written_tx, written_rx) = mpsc::channel();
        next.reply
            .send(Reply {
                bytes: response("200 OK", &headers, event),
                written: Some(written_tx),
            })
            .map_err(|_| "the function closed its /next connection".to_owned())?;
        let written = written_rx
            .recv_timeout(timeout)
            .map_err(|_| "could not write the event to the function".to_owned())?;
        let answer = self.receive(timeout)?;
        let expected = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        if answer.method != "POST" || answer.path != expected {
            return Err(format!(
                "expected POST {expected}, the function sent {} {}",
                answer.method, answer.path
            ));
        }
        let duration = answer.at.saturating_duration_since(written);
        let _ = answer.reply.send(Reply {
            bytes: response("202 Accepted", &[], br#"{"status":"OK"}"#),
            written: None,
        });
        self.wait_for_next(timeout)?;
        Ok(Invocation {
            duration,
            response: answer.body,
        })
    }
}

fn response(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len()).into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// One connection: read a request, hand it over, write the answer, repeat.
fn serve(stream: TcpStream, to_benchmark: Sender<Incoming>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Ok(Some((method, path, body))) = read_request(&mut reader) {
        let (reply_tx, reply_rx) = mpsc::channel();
        let request = Incoming {
            method,
            path,
            body,
            at: Instant::now(),
            reply: reply_tx,
        };
        if to_benchmark.send(request).is_err() {
            return;
        }
        let Ok(reply) = reply_rx.recv() else { return };
        if writer.write_all(&reply.bytes).and_then(|()| writer.flush()).is_err() {
            return;
        }
        if let Some(written) = reply.written {
            let _ = written.send(Instant::now());
        }
    }
}

type Request = (String, String, Vec<u8>);

fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad request line {line:?}"),
        ));
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some((method, path, body)))
}
