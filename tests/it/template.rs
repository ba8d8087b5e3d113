//! The SAM template against the code: the function's environment is exactly
//! what `Config` reads, and its policy grants exactly the ARNs and URL the
//! code uses, nothing more. The template is decoded by cfn-lint's own parser.

use crate::support::{as_list, template};

use cc_number_relay::config::ENV_VARS;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The relay function (the guardian, the other function, has its own test).
fn function(template: &Value) -> &Value {
    let function = &template["Resources"]["RelayFunction"];
    assert_eq!(
        function["Type"], "AWS::Serverless::Function",
        "the relay function RelayFunction"
    );
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], "cc-number-relay");
    function
}

#[test]
fn the_function_environment_is_exactly_what_the_code_reads() {
    let template = template();
    let variables = &function(&template)["Properties"]["Environment"]["Variables"];
    let in_template: BTreeSet<&str> = variables.as_object().unwrap().keys().map(String::as_str).collect();
    let in_code: BTreeSet<&str> = ENV_VARS.into_iter().collect();
    assert_eq!(in_template, in_code);
}

#[test]
fn the_function_may_publish_and_park_exactly_where_the_code_does() {
    let template = template();
    let function = function(&template);
    let env = &function["Properties"]["Environment"]["Variables"];
    let topic_refs: BTreeSet<String> = ["CREATED_TOPIC_ARN", "UPDATED_TOPIC_ARN", "DELETED_TOPIC_ARN"]
        .iter()
        .map(|k| {
            env[k]["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{k} is not a !Ref to a topic"))
                .to_owned()
        })
        .collect();
    assert_eq!(topic_refs.len(), 3, "three distinct topics");
    for topic in &topic_refs {
        assert_eq!(template["Resources"][topic]["Type"], "AWS::SNS::Topic", "{topic}");
    }
    let queue = env["DEAD_LETTER_QUEUE_URL"]["Ref"]
        .as_str()
        .expect("DEAD_LETTER_QUEUE_URL is a !Ref to the queue");
    assert_eq!(template["Resources"][queue]["Type"], "AWS::SQS::Queue");

    let mut granted: Vec<(String, Value)> = Vec::new();
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
    let mut expected: Vec<(String, Value)> = topic_refs
        .iter()
        .map(|t| ("sns:Publish".to_owned(), json!({"Ref": t})))
        .collect();
    expected.push(("sqs:SendMessage".to_owned(), json!({"Fn::GetAtt": [queue, "Arn"]})));
    // The inventory: the item read and the conditional write, nothing else, on that table only.
    let table = env["INVENTORY_TABLE"]["Ref"]
        .as_str()
        .expect("INVENTORY_TABLE is a !Ref to the table");
    assert_eq!(template["Resources"][table]["Type"], "AWS::DynamoDB::Table");
    for action in ["dynamodb:GetItem", "dynamodb:PutItem"] {
        expected.push((action.to_owned(), json!({"Fn::GetAtt": [table, "Arn"]})));
    }
    let sort = |v: &mut Vec<(String, Value)>| v.sort_by_key(|(a, r)| format!("{a}{r}"));
    sort(&mut granted);
    sort(&mut expected);
    assert_eq!(granted, expected);
    assert!(
        !serde_json::to_string(&function["Properties"]["Policies"])
            .unwrap()
            .contains('*'),
        "no wildcards"
    );
}

#[test]
fn the_function_fits_ringcentrals_three_seconds() {
    let template = template();
    let properties = &function(&template)["Properties"];
    assert_eq!(properties["Timeout"], 3);
    assert_eq!(properties["Architectures"], json!(["arm64"]));
    assert_eq!(properties["Runtime"], "provided.al2023");
    let budget = cc_number_relay::inventory::dynamodb::RELAY_TIMEOUTS.operation
        + cc_number_relay::sink::aws::SNS_TIMEOUTS.operation
        + cc_number_relay::sink::aws::SQS_TIMEOUTS.operation;
    assert!(
        budget.as_millis() <= 2300,
        "inventory read, publish and parking may take {budget:?}"
    );
}

#[test]
fn the_subscription_body_puts_expires_in_at_the_top_level() {
    let template = template();
    let body = &template["Outputs"]["SubscriptionRequestBody"]["Value"]["Fn::Sub"];
    let text = body.as_str().expect("a !Sub string");
    let parsed: Value = serde_json::from_str(text).expect("the body is JSON");
    assert_eq!(parsed["expiresIn"], 315360000);
    assert!(parsed["deliveryMode"].get("expiresIn").is_none());
    assert!(parsed["eventFilters"][0]
        .as_str()
        .unwrap()
        .ends_with("/phone-number?usageType=ContactCenterNumber"));
}

#[test]
fn the_dashboard_is_valid_json_and_shows_every_relay_metric() {
    let template = template();
    let sub = &template["Resources"]["RelayDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"];
    let mut body = sub[0].as_str().expect("a !Sub with variables").to_owned();
    for (name, value) in [
        ("${Ns}", "CcNumberRelay"),
        ("${AWS::Region}", "us-east-1"),
        ("${RelayFunction}", "fn"),
        ("${Queue}", "q"),
    ] {
        body = body.replace(name, value);
    }
    assert!(!body.contains("${"), "an unresolved variable in {body}");
    let dashboard: Value = serde_json::from_str(&body).expect("the dashboard body is JSON");
    let text = dashboard.to_string();
    use cc_number_relay::observe::*;
    for metric in [
        PUBLISHED,
        PARKED,
        UNRECOVERABLE,
        UNAUTHENTICATED,
        HANDSHAKES,
        RENEWAL_REMINDERS,
        PUBLISH_LATENCY,
        COLD_START,
    ] {
        assert!(text.contains(metric), "{metric} is not on the dashboard");
    }
    assert!(text.contains("\"value\":3000"), "the 3-second line");
}

#[test]
fn the_inventory_is_on_demand_recoverable_encrypted_and_keyed_by_number() {
    let template = template();
    let table = &template["Resources"]["InventoryTable"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(
        table["DeletionPolicy"], "Retain",
        "the memory of what subscribers were told outlives a stack"
    );
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(
        p["KeySchema"],
        json!([{"AttributeName": "phoneNumberId", "KeyType": "HASH"}])
    );
    let guardian_env = &template["Resources"]["GuardianFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(guardian_env["INVENTORY_TABLE"], json!({"Ref": "InventoryTable"}));
}

#[test]
fn corrections_raise_an_alarm_on_the_alarm_topic() {
    let template = template();
    let alarm = &template["Resources"]["ReconcileCorrectionsAlarm"]["Properties"];
    assert_eq!(
        alarm["MetricName"],
        cc_number_relay::runtime::guardian::metrics::RECONCILE_CORRECTIONS
    );
    assert_eq!(alarm["Namespace"], json!({"Ref": "MetricsNamespace"}));
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(alarm["Threshold"], 0);
    assert_eq!(alarm["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
}
