//! The guardian in the SAM template against the code: its environment is
//! exactly what `GuardianConfig` reads, its policy grants exactly its two
//! secrets (the credentials, the verification token: read only), the alarm
//! topic and that topic's key, it runs on the schedule parameter
//! (every 3 minutes by default), and the relay's subscription request in the
//! template is the one the CLI sends.

use crate::support::template;
use crate::support::template::grants;
use crate::template::LOCAL_ONLY;

use cc_number_relay::runtime::guardian::ENV_VARS;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn guardian(template: &Value) -> &Value {
    let function = &template["Resources"]["GuardianFunction"];
    assert_eq!(function["Type"], "AWS::Serverless::Function");
    function
}

#[test]
fn the_guardian_is_built_from_its_own_binary() {
    let template = template();
    let function = guardian(&template);
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"],
        "cc-number-relay-guardian"
    );
    assert_eq!(function["Properties"]["Runtime"], "provided.al2023");
    assert_eq!(function["Properties"]["Architectures"], json!(["arm64"]));
}

#[test]
fn the_guardian_environment_is_exactly_what_the_code_reads() {
    let template = template();
    let variables = &guardian(&template)["Properties"]["Environment"]["Variables"];
    let in_template: BTreeSet<&str> = variables.as_object().unwrap().keys().map(String::as_str).collect();
    // VERIFICATION_TOKEN is for local runs only; the template gives the secret.
    let in_code: BTreeSet<&str> = ENV_VARS.into_iter().filter(|v| *v != LOCAL_ONLY).collect();
    assert_eq!(in_template, in_code);
    // The same token secret as the relay, so a recreated subscription authenticates.
    let relay = &template["Resources"]["RelayFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        variables["VERIFICATION_TOKEN_SECRET_ARN"],
        json!({"Ref": "VerificationTokenSecret"})
    );
    assert_eq!(
        variables["VERIFICATION_TOKEN_SECRET_ARN"],
        relay["VERIFICATION_TOKEN_SECRET_ARN"]
    );
    assert_eq!(variables["METRICS_NAMESPACE"], relay["METRICS_NAMESPACE"]);
    // The address it guards is the webhook URL the stack gives RingCentral.
    assert_eq!(variables["WEBHOOK_ADDRESS"], template["Outputs"]["WebhookUrl"]["Value"]);
    assert_eq!(variables["ALARM_TOPIC_ARN"], json!({"Ref": "AlarmTopic"}));
    assert_eq!(
        variables["RINGCENTRAL_CREDENTIALS_SECRET"],
        json!({"Ref": "RingCentralCredentials"})
    );
    assert_eq!(
        template["Resources"]["RingCentralCredentials"]["Type"],
        "AWS::SecretsManager::Secret"
    );
    assert_eq!(
        template["Parameters"]["RingCentralServerUrl"]["Default"],
        cc_number_relay::ringcentral::DEFAULT_SERVER_URL
    );
    assert_eq!(
        template["Parameters"]["SubscriptionRenewWithin"]["Default"].as_u64(),
        Some(cc_number_relay::guardian::DEFAULT_RENEW_WITHIN.as_secs())
    );
}

#[test]
fn the_guardian_may_do_exactly_what_the_code_does() {
    let template = template();
    let function = guardian(&template);
    let mut granted = grants(function);
    let mut expected = vec![
        (
            "secretsmanager:GetSecretValue".to_owned(),
            json!({"Ref": "RingCentralCredentials"}),
        ),
        // The current token, for the subscriptions it creates; read only:
        // rotating is the operator's (cc-number-relay-ctl rotate-token).
        (
            "secretsmanager:GetSecretValue".to_owned(),
            json!({"Ref": "VerificationTokenSecret"}),
        ),
        ("sns:Publish".to_owned(), json!({"Ref": "AlarmTopic"})),
        (
            "kms:Decrypt".to_owned(),
            json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}),
        ),
        (
            "kms:GenerateDataKey*".to_owned(),
            json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}),
        ),
    ];
    // Reconciliation: the inventory (read, conditional write, scan) and the three topics.
    for action in ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"] {
        expected.push((action.to_owned(), json!({"Fn::GetAtt": ["InventoryTable", "Arn"]})));
    }
    expected.push((
        "dynamodb:Query".to_owned(),
        json!({"Fn::Sub": "${InventoryTable.Arn}/index/byAccount"}),
    ));
    for topic in ["CreatedTopic", "UpdatedTopic", "DeletedTopic"] {
        expected.push(("sns:Publish".to_owned(), json!({"Ref": topic})));
    }
    // Many accounts: the registry (list, read one, record its check), the
    // guardian queue (queue, backlog, consume) and the sealed fields' key.
    for action in ["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"] {
        expected.push((action.to_owned(), json!({"Fn::GetAtt": ["AccountsTable", "Arn"]})));
    }
    for action in [
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
    ] {
        expected.push((action.to_owned(), json!({"Fn::GetAtt": ["GuardianQueue", "Arn"]})));
    }
    expected.push((
        "kms:Decrypt".to_owned(),
        json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}),
    ));
    let sort = |v: &mut Vec<(String, Value)>| v.sort_by_key(|(a, r)| format!("{a}{r}"));
    sort(&mut granted);
    sort(&mut expected);
    assert_eq!(granted, expected);
    // The alarm topic really is encrypted with that key.
    assert_eq!(
        template["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"],
        json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]})
    );
}

#[test]
fn the_guardian_runs_every_3_minutes_and_reconciles_hourly_by_default() {
    let template = template();
    let events = guardian(&template)["Properties"]["Events"].as_object().unwrap();
    assert_eq!(events.len(), 2);
    let reconcile = &events["Reconcile"];
    assert_eq!(reconcile["Properties"]["Schedule"], json!({"Ref": "ReconcileInterval"}));
    assert_eq!(reconcile["Properties"]["Input"], r#"{"reconcile": true}"#);
    assert_eq!(template["Parameters"]["ReconcileInterval"]["Default"], "rate(1 hour)");
    let event = &events["Tick"];
    assert_eq!(event["Type"], "Schedule");
    assert_eq!(event["Properties"]["Schedule"], json!({"Ref": "GuardianSchedule"}));
    assert_eq!(template["Parameters"]["GuardianSchedule"]["Default"], "rate(3 minutes)");
    let timeout = guardian(&template)["Properties"]["Timeout"].as_u64().unwrap();
    assert!(
        timeout > cc_number_relay::guardian::RATE_LIMIT_BUDGET.as_secs() + 60,
        "room for the rate-limit waits and the calls: {timeout} s"
    );
}

#[test]
fn the_guardians_metrics_have_alarms_on_the_alarm_topic() {
    let template = template();
    let alarm = &template["Resources"]["SubscriptionUnhealthyAlarm"]["Properties"];
    assert_eq!(
        alarm["MetricName"],
        cc_number_relay::runtime::guardian::metrics::HEALTHY
    );
    assert_eq!(alarm["Namespace"], json!({"Ref": "MetricsNamespace"}));
    assert_eq!(alarm["ComparisonOperator"], "LessThanThreshold");
    assert_eq!(alarm["Threshold"], 1);
    assert_eq!(
        alarm["TreatMissingData"], "breaching",
        "a guardian that stops reporting alarms too"
    );
    assert_eq!(alarm["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
    let errors = &template["Resources"]["GuardianErrorsAlarm"]["Properties"];
    assert_eq!(errors["Dimensions"][0]["Value"], json!({"Ref": "GuardianFunction"}));
}

#[test]
fn the_templates_subscription_body_is_the_one_the_cli_sends() {
    let template = template();
    let text = template["Outputs"]["SubscriptionRequestBody"]["Value"]["Fn::Sub"]
        .as_str()
        .unwrap();
    let in_template: Value = serde_json::from_str(text).unwrap();
    // The template shows a placeholder where the token goes; any valid token stands in for it.
    let placeholder = in_template["deliveryMode"]["verificationToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = cc_number_relay::token::VerificationToken::parse("StandInToken".to_owned()).unwrap();
    let address = in_template["deliveryMode"]["address"].as_str().unwrap();
    let from_cli: Value = serde_json::from_str(&cc_number_relay::ringcentral::new_subscription_body(
        address,
        &token,
        cc_number_relay::ringcentral::MAX_EXPIRES_IN,
    ))
    .unwrap();
    let mut from_cli = from_cli;
    from_cli["deliveryMode"]["verificationToken"] = placeholder.into();
    assert_eq!(in_template, from_cli);
}

fn statement(function: &Value, sid: &str) -> Value {
    template::as_list(&function["Properties"]["Policies"])
        .iter()
        .flat_map(|p| template::as_list(&p["Statement"]))
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid}"))
}

#[test]
fn the_guardian_opens_only_the_registrys_sealed_fields_with_the_key_itself() {
    let template = template();
    let opens = statement(guardian(&template), "OpenRegisteredAccountsSecrets");
    assert_eq!(opens["Action"], "kms:Decrypt");
    assert_eq!(
        opens["Condition"],
        json!({
            "StringEquals": {"kms:EncryptionContext:field": ["credential", "tokens"]},
            "Null": {"kms:EncryptionContext:accountId": "false"}
        })
    );
}

#[test]
fn the_guardian_queue_is_encrypted_redriven_and_outlasts_six_runs() {
    let template = template();
    let resources = &template["Resources"];
    let queue = &resources["GuardianQueue"]["Properties"];
    let timeout = guardian(&template)["Properties"]["Timeout"].as_u64().unwrap();
    assert!(
        queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout,
        "Lambda's advice for SQS sources: {queue}"
    );
    assert_eq!(queue["KmsMasterKeyId"], json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}));
    assert_eq!(
        queue["RedrivePolicy"],
        json!({"deadLetterTargetArn": {"Fn::GetAtt": ["GuardianDeadLetterQueue", "Arn"]}, "maxReceiveCount": 3})
    );
    assert_eq!(
        resources["GuardianDeadLetterQueue"]["Properties"]["KmsMasterKeyId"],
        json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]})
    );
    let alarm = &resources["GuardianDeadLetterQueueNotEmptyAlarm"]["Properties"];
    assert_eq!(
        alarm["Dimensions"][0]["Value"],
        json!({"Fn::GetAtt": ["GuardianDeadLetterQueue", "QueueName"]})
    );
    assert_eq!(alarm["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
    let variables = &guardian(&template)["Properties"]["Environment"]["Variables"];
    assert_eq!(variables["GUARDIAN_QUEUE_URL"], json!({"Ref": "GuardianQueue"}));
    assert_eq!(variables["ACCOUNTS_TABLE"], json!({"Ref": "AccountsTable"}));
    assert_eq!(
        resources["AccountsTable"]["Properties"]["KeySchema"],
        json!([{"AttributeName": "accountId", "KeyType": "HASH"}])
    );
}

#[test]
fn the_guardian_queues_batches_reach_the_guardian_reporting_item_failures() {
    let template = template();
    let mapping = &template["Resources"]["GuardianEventSourceMapping"];
    assert_eq!(mapping["Type"], "AWS::Lambda::EventSourceMapping");
    let p = &mapping["Properties"];
    assert_eq!(p["EventSourceArn"], json!({"Fn::GetAtt": ["GuardianQueue", "Arn"]}));
    assert_eq!(p["FunctionName"], json!({"Ref": "GuardianFunction"}));
    assert_eq!(p["BatchSize"], 10);
    assert_eq!(p["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
    assert_eq!(
        p["ScalingConfig"]["MaximumConcurrency"],
        json!({"Ref": "GuardianMaximumConcurrency"})
    );
    let parameter = &template["Parameters"]["GuardianMaximumConcurrency"];
    assert_eq!(
        (parameter["MinValue"].as_u64(), parameter["MaxValue"].as_u64()),
        (Some(2), Some(1000)),
        "Lambda's bounds"
    );
    assert_eq!(parameter["Default"], 10);
}

#[test]
fn accounts_in_trouble_raise_an_alarm_on_the_metric_the_scheduler_writes() {
    let template = template();
    let alarm = &template["Resources"]["AccountsInTroubleAlarm"]["Properties"];
    assert_eq!(
        alarm["MetricName"],
        cc_number_relay::runtime::guardian::metrics::ACCOUNTS_IN_TROUBLE
    );
    assert_eq!(alarm["Namespace"], json!({"Ref": "MetricsNamespace"}));
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(alarm["Threshold"], 0);
    assert_eq!(
        alarm["TreatMissingData"], "notBreaching",
        "a single-account stack writes none"
    );
    assert_eq!(alarm["AlarmActions"], json!([{"Ref": "AlarmTopic"}]));
}
