//! `template.yaml` as JSON, decoded by cfn-lint's own parser (which knows
//! CloudFormation's short tags), for the tests that hold it to the code.

use serde_json::Value;
use std::process::Command;

pub fn template() -> Value {
    template_at("template.yaml")
}

/// Another template of the repository (the example subscriber's), by its path from the root.
pub fn template_at(path: &str) -> Value {
    let script = format!("import json,sys; from cfnlint.decode import decode; t, errors = decode('{path}'); assert not errors, errors; json.dump(t, sys.stdout)");
    let output = Command::new(super::dev_tool("python"))
        .args(["-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "decoding {path}: {}",
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

/// Every function of the template (SAM and plain Lambda), by logical id.
pub fn functions(template: &Value) -> Vec<(String, Value)> {
    template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| {
            matches!(
                r["Type"].as_str(),
                Some("AWS::Serverless::Function" | "AWS::Lambda::Function")
            )
        })
        .map(|(id, r)| (id.clone(), r.clone()))
        .collect()
}

/// What a SAM function's inline policies allow, as (action, resource) pairs;
/// fails on a Deny or a managed policy, which these tests do not expect.
pub fn grants(function: &Value) -> Vec<(String, Value)> {
    let mut granted = Vec::new();
    for policy in as_list(&function["Properties"]["Policies"]) {
        assert!(
            policy.is_object(),
            "only inline statements, no managed policy: {policy}"
        );
        for statement in as_list(&policy["Statement"]) {
            assert_eq!(statement["Effect"], "Allow");
            for action in as_list(&statement["Action"]) {
                for resource in as_list(&statement["Resource"]) {
                    granted.push((action.as_str().unwrap().to_owned(), resource));
                }
            }
        }
    }
    granted
}

/// A number in the template: a literal, or a `!Ref` to a parameter (its default).
pub fn number(template: &Value, value: &Value) -> f64 {
    let value = match value["Ref"].as_str() {
        Some(parameter) => &template["Parameters"][parameter]["Default"],
        None => value,
    };
    match value {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {s}")),
        other => panic!("not a number: {other}"),
    }
}

/// The one line of `doc` (a path from the crate root) that contains `marker`,
/// and the first number on it after the marker (thousands separated by commas
/// allowed): a figure the docs state and a test holds the template to.
pub fn documented_figure(doc: &str, marker: &str) -> (String, u64) {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(marker)).collect();
    assert_eq!(
        lines.len(),
        1,
        "{doc} must state `{marker}` on exactly one line: {lines:?}"
    );
    let after = &lines[0][lines[0].find(marker).unwrap() + marker.len()..];
    let digits: String = after
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    let figure = digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{marker}` in {doc}: {}", lines[0]));
    (lines[0].to_owned(), figure)
}
