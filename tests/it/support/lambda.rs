//! The compiled binary under `cargo lambda watch`, with its own environment.

use super::{dev_tool, free_port, spawn_tied, wait_for_port};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Watch {
    pub port: u16,
    pub log: PathBuf,
}

pub fn path_with_venv() -> String {
    let venv = format!("{}/.venv/bin", env!("CARGO_MANIFEST_DIR"));
    format!("{venv}:{}", std::env::var("PATH").unwrap_or_default())
}

impl Watch {
    /// Starts `cargo lambda watch` with the given function environment (AWS
    /// credentials and region are added); its output goes to `self.log`.
    pub fn start(env: &[(&str, String)]) -> Watch {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("cc-number-relay-watch-{}-{port}.log", std::process::id()));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(dev_tool("cargo-lambda"));
        command
            .args([
                "lambda",
                "watch",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
                // No restart (a cold start) when a file in the tree changes
                // while a test runs: a test's instance stays the one it warmed.
                "--ignore-changes",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PATH", path_with_venv())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        for (k, v) in env {
            command.env(k, v);
        }
        spawn_tied(command);
        wait_for_port(port, "cargo lambda watch");
        Watch { port, log }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/lambda-url/cc-number-relay/", self.port)
    }

    /// POSTs through cargo lambda's function-URL emulation; returns status,
    /// body and how long the answer took.
    pub fn post(&self, headers: &[(&str, &str)], body: &str) -> (u16, String, Duration) {
        self.post_within(Duration::from_secs(120), headers, body)
    }

    fn post_within(&self, timeout: Duration, headers: &[(&str, &str)], body: &str) -> (u16, String, Duration) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        let mut request = agent.post(&self.url());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let started = Instant::now();
        let mut response = request.send(body).unwrap();
        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap(), elapsed)
    }

    /// Waits until the first request has been served: the first one may
    /// build the binary, which takes minutes on a busy machine (as
    /// guardian_lambda's first invocation allows too).
    pub fn warm_up(&self) {
        let (status, _, _) = self.post_within(Duration::from_secs(900), &[("validation-token", "warm-up")], "");
        assert_eq!(status, 200, "handshake during warm-up");
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The log (`cc-number-relay-watch-<pid>-<port>.log` in the temp dir) is
/// kept only when the test failed, so passing runs do not pile up there.
impl Drop for Watch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}
