//! HTTP/1.1 on a bare TCP stream, where the bytes themselves are the test:
//! the stand-in's own requests to webhook addresses (RingCentral counts
//! every byte of the answer, status line and headers included, against its
//! 1,024-byte limit) and the fake webhook's answers of an exact size. Heads
//! are parsed with `httparse`; only the framing is done here.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Header names and values, in the order received.
pub type Headers = Vec<(String, String)>;

/// The raw answer of an address: every byte counted, headers included.
pub struct RawAnswer {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub total_bytes: usize,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A header's value, its name in any case.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn owned(headers: &[httparse::Header]) -> Headers {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8_lossy(h.value).into_owned()))
        .collect()
}

fn content_length(headers: &[(String, String)]) -> Option<usize> {
    header(headers, "content-length").and_then(|v| v.trim().parse().ok())
}

/// A request as a webhook receives it: (headers, body). Reads the head and
/// then `Content-Length` bytes; `None` when the peer closes first or sends
/// no HTTP.
pub fn read_request(stream: &mut TcpStream) -> Option<(Headers, Vec<u8>)> {
    let mut data = Vec::new();
    loop {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut slots);
        if let httparse::Status::Complete(head) = request.parse(&data).ok()? {
            let headers = owned(request.headers);
            let length = content_length(&headers).unwrap_or(0);
            let mut body = data.split_off(head);
            while body.len() < length && read_more(stream, &mut body) {}
            body.truncate(length);
            return Some((headers, body));
        }
        if !read_more(stream, &mut data) {
            return None;
        }
    }
}

fn read_more(stream: &mut TcpStream, data: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 8192];
    match stream.read(&mut buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            data.extend_from_slice(&buf[..n]);
            true
        }
    }
}

/// One POST over a fresh connection, as RingCentral's webhook client does;
/// the answer must be complete within `timeout`.
pub fn exchange(
    address: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<RawAnswer, String> {
    let rest = address
        .strip_prefix("http://")
        .ok_or("the stand-in delivers to http:// only")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    stream.write_all(body).map_err(|e| e.to_string())?;
    // Every byte up to the end of the body (or of the connection), within the deadline.
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let mut expected_total: Option<usize> = None;
    loop {
        if expected_total.is_some_and(|t| data.len() >= t) || data.len() > 64 * 1024 {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("Read timed out".to_owned());
        }
        stream.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(_) => return Err("Read timed out".to_owned()),
        }
        if expected_total.is_none() {
            if let Some(head) = parse_answer_head(&data)? {
                expected_total = content_length(&head.headers).map(|length| head.len + length);
            }
        }
    }
    let head = parse_answer_head(&data)?.ok_or("no complete answer")?;
    Ok(RawAnswer {
        status: head.status,
        headers: head.headers,
        body: data[head.len..].to_vec(),
        total_bytes: data.len(),
    })
}

struct Head {
    len: usize,
    status: u16,
    headers: Headers,
}

/// The answer's head, once all of it is in `data`.
fn parse_answer_head(data: &[u8]) -> Result<Option<Head>, String> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut answer = httparse::Response::new(&mut slots);
    match answer.parse(data) {
        Ok(httparse::Status::Complete(len)) => Ok(Some(Head {
            len,
            status: answer.code.ok_or("no status line")?,
            headers: owned(answer.headers),
        })),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(format!("not an HTTP answer: {e}")),
    }
}
