//! The operator CLI as a process, with only the environment a test gives it
//! (plus moto as every AWS endpoint).

use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The command `ctl` runs, for a test that starts it and stops it itself.
pub fn ctl_command(env: &[(&str, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cc-number-relay-ctl"));
    command
        .args(args)
        .env_clear()
        .env("AWS_ENDPOINT_URL", &super::moto().endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

pub fn ctl(env: &[(&str, String)], args: &[&str]) -> Run {
    let output = ctl_command(env, args).output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
