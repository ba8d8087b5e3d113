//! A missing or malformed variable stops the cold start with one clear line.

use std::process::Command;

fn start(env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cc-number-relay"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

const COMPLETE: [(&str, &str); 5] = [
    ("CREATED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:created"),
    ("UPDATED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:updated"),
    ("DELETED_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:deleted"),
    (
        "DEAD_LETTER_QUEUE_URL",
        "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
    ),
    ("VERIFICATION_TOKEN", "ccNumberRelayLocalDemoToken2026x"),
];

#[test]
fn each_missing_variable_is_named_in_one_line() {
    for (name, _) in COMPLETE {
        let env: Vec<_> = COMPLETE.iter().filter(|(n, _)| *n != name).copied().collect();
        let (ok, text) = start(&env);
        assert!(!ok);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let expected = match name {
            "VERIFICATION_TOKEN" => {
                "environment variable VERIFICATION_TOKEN_SECRET_ARN (or, for local runs, VERIFICATION_TOKEN) is not set"
                    .to_owned()
            }
            _ => format!("environment variable {name} is not set"),
        };
        assert!(lines[0].contains(&format!("cold start failed: {expected}")), "{text}");
    }
}

#[test]
fn a_malformed_variable_is_named_and_the_token_is_not_printed() {
    let mut env = COMPLETE.to_vec();
    env[4] = ("VERIFICATION_TOKEN", "secret with spaces");
    let (ok, text) = start(&env);
    assert!(!ok);
    assert!(
        text.contains(
            "environment variable VERIFICATION_TOKEN is malformed: must be 1 to 256 visible ASCII characters"
        ),
        "{text}"
    );
    assert!(!text.contains("secret with spaces"));
    assert_eq!(text.lines().count(), 1);
}
