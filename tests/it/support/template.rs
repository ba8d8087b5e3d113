//! `template.yaml` as JSON, decoded by cfn-lint's own parser (which knows
//! CloudFormation's short tags), for the tests that hold it to the code.

use serde_json::Value;
use std::process::Command;

pub fn template() -> Value {
    let output = Command::new(super::dev_tool("python"))
        .args(["-c", "import json,sys; from cfnlint.decode import decode; t, errors = decode('template.yaml'); assert not errors, errors; json.dump(t, sys.stdout)"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "decoding template.yaml: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A CloudFormation field that may hold one value or a list of them.
pub fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}
