//! X-Ray subsegments for the handler and for the calls that can be slow
//! (SNS Publish, SQS SendMessage), so a slow publish shows up as such in
//! the trace of the invocation. They go to the X-Ray daemon that Lambda runs
//! beside the function (`AWS_XRAY_DAEMON_ADDRESS`) over UDP, fire and
//! forget: tracing never delays or fails a notification. There is no
//! maintained X-Ray SDK for Rust, and OpenTelemetry's exporter stack would
//! cost far more cold start and binary size than these few datagrams.

use serde::Serialize;
use std::hash::{BuildHasher, Hasher};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

#[derive(Debug, Default)]
pub struct XRay {
    socket: Option<UdpSocket>,
}

/// The invocation's trace, and the id of the handler's own subsegment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub root: String,
    pub parent: String,
    pub handler_id: String,
}

impl Trace {
    /// From Lambda's `Root=1-…;Parent=…;Sampled=1`; `None` unless sampled.
    pub fn from_header(header: &str) -> Option<Trace> {
        let field = |key: &str| header.split(';').find_map(|part| part.trim().strip_prefix(key));
        if field("Sampled=")? != "1" {
            return None;
        }
        Some(Trace {
            root: field("Root=")?.to_owned(),
            parent: field("Parent=")?.to_owned(),
            handler_id: new_id(),
        })
    }
}

#[derive(Serialize)]
struct Subsegment<'a> {
    name: &'a str,
    id: &'a str,
    trace_id: &'a str,
    parent_id: &'a str,
    start_time: f64,
    end_time: f64,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aws: Option<Operation<'a>>,
    fault: bool,
}

#[derive(Serialize)]
struct Operation<'a> {
    operation: &'a str,
}

impl XRay {
    /// Sends to `AWS_XRAY_DAEMON_ADDRESS` when set (`host:port`, or Lambda's
    /// `udp:host:port tcp:host:port` form); otherwise records nothing.
    pub fn from_env() -> XRay {
        std::env::var("AWS_XRAY_DAEMON_ADDRESS")
            .ok()
            .map_or_else(XRay::default, |a| XRay::to(&a))
    }

    pub fn to(address: &str) -> XRay {
        let udp = address
            .split_whitespace()
            .find_map(|a| a.strip_prefix("udp:"))
            .unwrap_or(address);
        let socket = UdpSocket::bind("0.0.0.0:0")
            .and_then(|s| s.connect(udp).map(|()| s))
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .ok();
        XRay { socket }
    }

    /// One AWS call, as a child of the handler's subsegment.
    pub fn aws_call(
        &self,
        trace: Option<&Trace>,
        service: &str,
        operation: &str,
        started: SystemTime,
        took: Duration,
        fault: bool,
    ) {
        if let Some(t) = trace {
            let id = new_id();
            self.send(Subsegment {
                name: service,
                id: &id,
                trace_id: &t.root,
                parent_id: &t.handler_id,
                start_time: seconds(started),
                end_time: seconds(started) + took.as_secs_f64(),
                kind: "subsegment",
                namespace: Some("aws"),
                aws: Some(Operation { operation }),
                fault,
            });
        }
    }

    /// The handler's own subsegment, child of Lambda's function segment.
    pub fn handler(&self, trace: Option<&Trace>, started: SystemTime, took: Duration, fault: bool) {
        if let Some(t) = trace {
            self.send(Subsegment {
                name: "cc-number-relay handler",
                id: &t.handler_id,
                trace_id: &t.root,
                parent_id: &t.parent,
                start_time: seconds(started),
                end_time: seconds(started) + took.as_secs_f64(),
                kind: "subsegment",
                namespace: None,
                aws: None,
                fault,
            });
        }
    }

    fn send(&self, subsegment: Subsegment<'_>) {
        if let (Some(socket), Ok(json)) = (&self.socket, serde_json::to_string(&subsegment)) {
            let _ = socket.send(format!("{HEADER}{json}").as_bytes());
        }
    }
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// 16 hex digits, unique within the process and unpredictable across
/// processes; X-Ray needs no more.
fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(seconds(SystemTime::now()).to_bits() as u128);
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lambdas_trace_header_only_when_sampled() {
        let t =
            Trace::from_header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1").unwrap();
        assert_eq!(
            (t.root.as_str(), t.parent.as_str()),
            ("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8")
        );
        assert_eq!(t.handler_id.len(), 16);
        assert_eq!(
            Trace::from_header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"),
            None
        );
        assert_eq!(Trace::from_header("garbage"), None);
    }
}
