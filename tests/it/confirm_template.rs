//! The confirmer in the SAM template against the code: its own binary, its
//! environment exactly what `ConfirmConfig` reads, a role that may do
//! exactly what the code does (and no more than the guardian's), the confirm
//! queue fed by the Updated topic with webhook changes only, its dead-letter
//! queue and alarm, and an event source mapping that confirms within a minute
//! without outrunning RingCentral's Light rate group.

use crate::support::template;
use crate::support::template::{as_list, grants, number};
use cc_number_relay::runtime::confirm::{ENV_VARS, RATE_LIMIT_BUDGET};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn resource<'a>(template: &'a Value, id: &str, kind: &str) -> &'a Value {
    let resource = &template["Resources"][id];
    assert_eq!(resource["Type"], kind, "{id}");
    resource
}

fn key() -> Value {
    json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]})
}

#[test]
fn the_confirmer_is_built_from_its_own_binary_like_the_guardian() {
    let template = template();
    let function = resource(&template, "ConfirmFunction", "AWS::Serverless::Function");
    let guardian = &template["Resources"]["GuardianFunction"];
    assert_eq!(function["Metadata"]["BuildMethod"], guardian["Metadata"]["BuildMethod"]);
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"],
        "cc-number-relay-confirm"
    );
    for property in ["Runtime", "Architectures", "MemorySize", "Handler"] {
        assert_eq!(
            function["Properties"][property], guardian["Properties"][property],
            "{property}"
        );
    }
    assert_eq!(function["Properties"]["Architectures"], json!(["arm64"]));
    let skipped: BTreeSet<String> = as_list(&function["Metadata"]["checkov"]["skip"])
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let guardian_skipped: BTreeSet<String> = as_list(&guardian["Metadata"]["checkov"]["skip"])
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(skipped, guardian_skipped, "the guardian's Checkov choices");
    let log_group = &function["Properties"]["LoggingConfig"]["LogGroup"];
    assert_eq!(*log_group, json!({"Ref": "ConfirmLogGroup"}));
    let group = &resource(&template, "ConfirmLogGroup", "AWS::Logs::LogGroup")["Properties"];
    assert_eq!(group["KmsKeyId"], key());
    assert_eq!(group["RetentionInDays"], 30);
}

#[test]
fn the_confirmer_environment_is_exactly_what_the_code_reads() {
    let template = template();
    let variables = &template["Resources"]["ConfirmFunction"]["Properties"]["Environment"]["Variables"];
    let in_template: BTreeSet<&str> = variables.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(in_template, ENV_VARS.into_iter().collect());
    let guardian = &template["Resources"]["GuardianFunction"]["Properties"]["Environment"]["Variables"];
    for name in ENV_VARS {
        assert_eq!(variables[name], guardian[name], "{name}: the guardian's too");
    }
}

#[test]
fn the_confirmer_may_do_exactly_what_the_code_does() {
    let template = template();
    let function = &template["Resources"]["ConfirmFunction"];
    let mut granted = grants(function);
    let mut expected = vec![(
        "secretsmanager:GetSecretValue".to_owned(),
        json!({"Ref": "RingCentralCredentials"}),
    )];
    for action in ["dynamodb:GetItem", "dynamodb:PutItem"] {
        expected.push((action.to_owned(), json!({"Fn::GetAtt": ["InventoryTable", "Arn"]})));
    }
    for topic in ["CreatedTopic", "UpdatedTopic", "DeletedTopic"] {
        expected.push(("sns:Publish".to_owned(), json!({"Ref": topic})));
    }
    for action in ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] {
        expected.push((action.to_owned(), json!({"Fn::GetAtt": ["ConfirmQueue", "Arn"]})));
    }
    expected.push(("kms:Decrypt".to_owned(), key()));
    let sort = |v: &mut Vec<(String, Value)>| v.sort_by_key(|(a, r)| format!("{a}{r}"));
    sort(&mut granted);
    sort(&mut expected);
    assert_eq!(granted, expected);
    // The key only through the three services, as the relay uses it.
    let statement = |f: &Value| {
        as_list(&f["Properties"]["Policies"][0]["Statement"])
            .into_iter()
            .find(|s| s["Sid"] == "UseStackKeyThroughSqsDynamoDbSecretsManager")
            .unwrap()
    };
    assert_eq!(
        statement(function)["Condition"],
        statement(&template["Resources"]["RelayFunction"])["Condition"]
    );
    let policies = serde_json::to_string(&function["Properties"]["Policies"]).unwrap();
    assert!(!policies.contains('*'), "no wildcards: {policies}");
    // No SQS event: SAM would attach AWSLambdaSQSQueueExecutionRole (every queue).
    assert!(function["Properties"]["Events"].is_null());
    let timeout = function["Properties"]["Timeout"].as_u64().unwrap();
    assert!(
        timeout >= RATE_LIMIT_BUDGET.as_secs() + 60,
        "room for the rate-limit waits and the calls: {timeout} s"
    );
}

#[test]
fn the_confirm_queue_gets_webhook_updates_only_encrypted_with_the_stacks_key() {
    let template = template();
    let subscription = &resource(&template, "ConfirmSubscription", "AWS::SNS::Subscription")["Properties"];
    assert_eq!(subscription["TopicArn"], json!({"Ref": "UpdatedTopic"}));
    assert_eq!(subscription["Protocol"], "sqs");
    assert_eq!(subscription["Endpoint"], json!({"Fn::GetAtt": ["ConfirmQueue", "Arn"]}));
    assert_eq!(subscription["RawMessageDelivery"], true);
    assert_eq!(subscription["FilterPolicyScope"], "MessageAttributes");
    assert_eq!(
        subscription["FilterPolicy"],
        json!({cc_number_change::attributes::ORIGIN: ["webhook"]})
    );
    assert_eq!(cc_number_relay::change::Origin::Webhook.as_str(), "webhook");

    let queue = &resource(&template, "ConfirmQueue", "AWS::SQS::Queue")["Properties"];
    let dlq = &resource(&template, "ConfirmDeadLetterQueue", "AWS::SQS::Queue")["Properties"];
    assert_eq!(queue["KmsMasterKeyId"], key());
    assert_eq!(dlq["KmsMasterKeyId"], key());
    assert_eq!(
        queue["RedrivePolicy"],
        json!({"deadLetterTargetArn": {"Fn::GetAtt": ["ConfirmDeadLetterQueue", "Arn"]}, "maxReceiveCount": 5})
    );
    // FIFO topics deliver only into FIFO queues, whose dead-letter queue is FIFO too.
    for q in [queue, dlq] {
        assert_eq!(
            q["FifoQueue"],
            json!({"Fn::If": ["IsFifo", true, {"Ref": "AWS::NoValue"}]})
        );
    }
    let timeout = number(
        &template,
        &template["Resources"]["ConfirmFunction"]["Properties"]["Timeout"],
    );
    assert_eq!(number(&template, &queue["VisibilityTimeout"]), 6.0 * timeout);

    // Only the Updated topic may send, and the key lets SNS encrypt for it, and only it.
    let policy = &resource(&template, "ConfirmQueuePolicy", "AWS::SQS::QueuePolicy")["Properties"];
    assert_eq!(policy["Queues"], json!([{"Ref": "ConfirmQueue"}]));
    let statements = as_list(&policy["PolicyDocument"]["Statement"]);
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Principal"], json!({"Service": "sns.amazonaws.com"}));
    assert_eq!(statements[0]["Action"], "sqs:SendMessage");
    assert_eq!(
        statements[0]["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": {"Ref": "UpdatedTopic"}}})
    );
    let key_policy = as_list(&template["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]);
    let for_sns: Vec<&Value> = key_policy
        .iter()
        .filter(|s| s["Principal"] == json!({"Service": "sns.amazonaws.com"}))
        .collect();
    assert_eq!(for_sns.len(), 1);
    assert_eq!(
        for_sns[0]["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": {"Ref": "UpdatedTopic"}}})
    );
    assert!(
        key_policy
            .iter()
            .any(|s| s.to_string().contains("/aws/lambda/${AWS::StackName}-confirm")),
        "CloudWatch Logs may use the key for the confirmer's log group"
    );
}

#[test]
fn the_mapping_confirms_within_a_minute_two_batches_at_a_time() {
    let template = template();
    let mapping = &resource(
        &template,
        "ConfirmEventSourceMapping",
        "AWS::Lambda::EventSourceMapping",
    )["Properties"];
    assert_eq!(
        mapping["EventSourceArn"],
        json!({"Fn::GetAtt": ["ConfirmQueue", "Arn"]})
    );
    assert_eq!(mapping["FunctionName"], json!({"Ref": "ConfirmFunction"}));
    assert_eq!(mapping["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
    assert_eq!(mapping["ScalingConfig"]["MaximumConcurrency"], 2);
    // FIFO queues take no batching window and at most 10 a batch.
    assert_eq!(
        mapping["MaximumBatchingWindowInSeconds"],
        json!({"Fn::If": ["IsFifo", {"Ref": "AWS::NoValue"}, 20]})
    );
    let batch = mapping["BatchSize"].as_u64().unwrap();
    assert!(batch <= 10);
    // Two batches of distinct numbers at once stay within the Light group's 50 a minute.
    assert!(2 * batch <= 50);
}

#[test]
fn a_confirm_dead_letter_raises_an_alarm_on_the_alarm_topic() {
    let template = template();
    let alarm = &resource(
        &template,
        "ConfirmDeadLetterQueueNotEmptyAlarm",
        "AWS::CloudWatch::Alarm",
    )["Properties"];
    let existing = &template["Resources"]["DeadLetterQueueNotEmptyAlarm"]["Properties"];
    for field in [
        "Namespace",
        "MetricName",
        "Statistic",
        "Period",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "AlarmActions",
        "OKActions",
    ] {
        assert_eq!(
            alarm[field], existing[field],
            "{field}: like the relay's dead-letter alarm"
        );
    }
    assert_eq!(
        alarm["Dimensions"],
        json!([{"Name": "QueueName", "Value": {"Fn::GetAtt": ["ConfirmDeadLetterQueue", "QueueName"]}}])
    );
}
