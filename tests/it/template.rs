//! The SAM template against the code: the function's environment is exactly
//! what `Config` reads, and its policy grants exactly the ARNs and URL the
//! code uses, nothing more; the verification token is in no function's
//! environment, only in the secret the stack generates, which the relay may
//! read and nothing else; the webhook's throttle admits the burst the runbook
//! plans for. The template is decoded by cfn-lint's own parser.

use crate::support::template::{documented_figure, functions, grants, number};
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

/// Read by the code for local runs and tests only: a deployed function gets
/// the token's secret instead (`VERIFICATION_TOKEN_SECRET_ARN`).
pub const LOCAL_ONLY: &str = "VERIFICATION_TOKEN";

/// The secret that holds the verification token.
const TOKEN_SECRET: &str = "VerificationTokenSecret";

#[test]
fn the_function_environment_is_exactly_what_the_code_reads() {
    let template = template();
    let variables = &function(&template)["Properties"]["Environment"]["Variables"];
    let in_template: BTreeSet<&str> = variables.as_object().unwrap().keys().map(String::as_str).collect();
    let in_code: BTreeSet<&str> = ENV_VARS.into_iter().filter(|v| *v != LOCAL_ONLY).collect();
    assert_eq!(in_template, in_code);
    assert_eq!(variables["VERIFICATION_TOKEN_SECRET_ARN"], json!({"Ref": TOKEN_SECRET}));
}

#[test]
fn no_function_environment_holds_the_token() {
    let template = template();
    assert!(
        template["Globals"]["Function"]["Environment"].is_null(),
        "no environment shared by every function"
    );
    let all = functions(&template);
    assert_eq!(
        all.len(),
        3,
        "the relay, the guardian and the confirmer: {:?}",
        all.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (id, function) in &all {
        let variables = function["Properties"]["Environment"]["Variables"].as_object().unwrap();
        assert!(!variables.contains_key(LOCAL_ONLY), "{id} has {LOCAL_ONLY}");
        for (name, value) in variables {
            // Every value is a reference: a literal could be a token (any 1 to
            // 256 visible characters are one), and the local demo token must
            // never be deployed.
            assert!(value.is_object(), "{id}'s {name} is a literal: {value}");
            assert!(
                !value.to_string().contains(crate::support::TOKEN),
                "{id}'s {name} holds the demo token"
            );
            // A reference to a parameter must not be one that hands a secret in.
            if let Some(parameter) = value["Ref"].as_str() {
                let parameter = &template["Parameters"][parameter];
                assert_ne!(
                    parameter["NoEcho"],
                    json!(true),
                    "{id}'s {name} refers to a NoEcho parameter"
                );
            }
        }
        if variables.contains_key("VERIFICATION_TOKEN_SECRET_ARN") {
            assert_eq!(
                variables["VERIFICATION_TOKEN_SECRET_ARN"],
                json!({"Ref": TOKEN_SECRET}),
                "{id}"
            );
        }
    }
    // Nobody types the token in: the template asks for no secret at all.
    for (name, parameter) in template["Parameters"].as_object().unwrap() {
        assert_ne!(parameter["NoEcho"], json!(true), "parameter {name} is NoEcho");
    }
}

#[test]
fn the_stack_generates_the_token_in_the_shape_the_code_reads() {
    let template = template();
    let secret = &template["Resources"][TOKEN_SECRET];
    assert_eq!(secret["Type"], "AWS::SecretsManager::Secret");
    let properties = &secret["Properties"];
    assert!(
        properties.get("SecretString").is_none(),
        "generated, not written in the template"
    );
    let generate = &properties["GenerateSecretString"];
    // {"current": <generated>, "previous": ""}
    let shape: Value = serde_json::from_str(generate["SecretStringTemplate"].as_str().unwrap()).unwrap();
    assert_eq!(shape, json!({"previous": ""}));
    assert_eq!(generate["GenerateStringKey"], "current");
    // Letters and digits only (RingCentral echoes the token in a header), and
    // long enough to guess never; such a string is a valid token.
    assert_eq!(generate["ExcludePunctuation"], true);
    assert!(generate.get("IncludeSpace").is_none_or(|v| v == false));
    let length = generate["PasswordLength"].as_u64().unwrap();
    assert!((32..=256).contains(&length), "{length} characters");
    let example = "aB3".repeat(length as usize)[..length as usize].to_owned();
    assert!(cc_number_relay::token::VerificationToken::parse(example).is_ok());
    assert_eq!(
        template["Outputs"]["VerificationTokenSecretArn"]["Value"],
        json!({"Ref": TOKEN_SECRET})
    );
}

#[test]
fn the_relay_may_read_its_token_secret_and_no_other() {
    let template = template();
    let secrets: Vec<(String, Value)> = grants(function(&template))
        .into_iter()
        .filter(|(action, _)| action.starts_with("secretsmanager:"))
        .collect();
    assert_eq!(
        secrets,
        vec![("secretsmanager:GetSecretValue".to_owned(), json!({"Ref": TOKEN_SECRET}))]
    );
    // No statement of the relay names all resources, or an action by pattern.
    for policy in as_list(&function(&template)["Properties"]["Policies"]) {
        for statement in as_list(&policy["Statement"]) {
            for field in ["Resource", "Action"] {
                for value in as_list(&statement[field]) {
                    assert!(!value.to_string().contains('*'), "{field} {value} in {statement}");
                }
            }
            assert!(statement.get("NotResource").is_none() && statement.get("NotAction").is_none());
        }
    }
}

#[test]
fn the_throttle_admits_the_documented_burst() {
    let template = template();
    // The one place the burst is stated; the template's limits must admit it.
    let (line, burst) = documented_figure("docs/runbook.md", "The largest legitimate burst planned for:");
    assert!(line.contains("within one second"), "the figure is per second: {line}");
    let settings = &template["Resources"]["WebhookStage"]["Properties"]["DefaultRouteSettings"];
    let rate = number(&template, &settings["ThrottlingRateLimit"]);
    let bucket = number(&template, &settings["ThrottlingBurstLimit"]);
    // The bucket takes the whole burst at once, and the rate refills it as
    // fast, so one such burst a second, for ever, is never answered 429.
    assert!(
        bucket >= burst as f64,
        "burst limit {bucket} < the documented burst {burst}"
    );
    assert!(
        rate >= burst as f64,
        "rate limit {rate}/s < the documented burst {burst} a second"
    );
    // No route overrides the stage's defaults.
    assert!(template["Resources"]["WebhookStage"]["Properties"]["RouteSettings"].is_null());
    // The runbook's parameter table states the template's defaults.
    let runbook = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/runbook.md")).unwrap();
    for parameter in ["WebhookRateLimit", "WebhookBurstLimit", "RelayReservedConcurrency"] {
        let default = &template["Parameters"][parameter]["Default"];
        let row = format!("| `{parameter}` | `{default}` |");
        assert!(runbook.contains(&row), "docs/runbook.md has no row `{row}`");
    }
}

#[test]
fn the_relay_reserves_no_concurrency_unless_asked() {
    let template = template();
    let reserved = &function(&template)["Properties"]["ReservedConcurrentExecutions"];
    assert_eq!(
        reserved,
        &json!({"Fn::If": ["HasReservedConcurrency", {"Ref": "RelayReservedConcurrency"}, {"Ref": "AWS::NoValue"}]})
    );
    assert_eq!(
        template["Conditions"]["HasReservedConcurrency"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "RelayReservedConcurrency"}, 0]}]})
    );
    assert_eq!(template["Parameters"]["RelayReservedConcurrency"]["Default"], 0);
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

    let mut granted = grants(function);
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
    // The token: read, on its own secret only.
    let secret = env["VERIFICATION_TOKEN_SECRET_ARN"]["Ref"]
        .as_str()
        .expect("VERIFICATION_TOKEN_SECRET_ARN is a !Ref to the secret");
    assert_eq!(template["Resources"][secret]["Type"], "AWS::SecretsManager::Secret");
    expected.push(("secretsmanager:GetSecretValue".to_owned(), json!({"Ref": secret})));
    // The stack's key (AlarmTopicKey) encrypts the dead-letter queue (SendMessage needs
    // both actions), the inventory and the token secret (kms:Decrypt).
    for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
        expected.push((action.to_owned(), json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]})));
    }
    // Many accounts: a registered account's item read, and its tokens opened
    // by the relay itself (kms:Decrypt under the tokens field's context only).
    let accounts = env["ACCOUNTS_TABLE"]["Ref"]
        .as_str()
        .expect("ACCOUNTS_TABLE is a !Ref to the registry");
    assert_eq!(template["Resources"][accounts]["Type"], "AWS::DynamoDB::Table");
    expected.push(("dynamodb:GetItem".to_owned(), json!({"Fn::GetAtt": [accounts, "Arn"]})));
    expected.push((
        "kms:Decrypt".to_owned(),
        json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}),
    ));
    let sort = |v: &mut Vec<(String, Value)>| v.sort_by_key(|(a, r)| format!("{a}{r}"));
    sort(&mut granted);
    sort(&mut expected);
    assert_eq!(granted, expected);
    let statements = function["Properties"]["Policies"][0]["Statement"].as_array().unwrap();
    let opens = statements
        .iter()
        .find(|s| s["Sid"] == "OpenRegisteredAccountsTokens")
        .expect("the tokens' own kms:Decrypt");
    assert_eq!(
        opens["Condition"],
        json!({"StringEquals": {"kms:EncryptionContext:field": "tokens"}, "Null": {"kms:EncryptionContext:accountId": "false"}}),
        "the relay opens tokens, never a JWT credential"
    );
    let through_services = statements
        .iter()
        .find(|s| s["Sid"] == "UseStackKeyThroughSqsDynamoDbSecretsManager")
        .unwrap();
    assert!(through_services["Condition"]["StringEquals"]["kms:ViaService"].is_array());
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
fn the_subscribe_command_takes_the_token_from_the_secret() {
    let template = template();
    let outputs = &template["Outputs"];
    let address = outputs["WebhookUrl"]["Value"]["Fn::Sub"].as_str().unwrap();
    let command = outputs["SubscribeCommand"]["Value"]["Fn::Sub"].as_str().unwrap();
    assert_eq!(
        command,
        format!(
            "cc-number-relay-ctl subscribe --address {address} --verification-token-secret ${{{TOKEN_SECRET}}} \
             --credentials-secret ${{RingCentralCredentials}}"
        )
    );
    assert!(!serde_json::to_string(outputs)
        .unwrap()
        .contains("<your VerificationToken>"));
    // The CLI takes those options.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_cc-number-relay-ctl"))
        .args(["subscribe", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{}", String::from_utf8_lossy(&help.stderr));
    for option in ["--address", "--verification-token-secret", "--credentials-secret"] {
        assert!(text.contains(option), "subscribe has no {option}:\n{text}");
    }
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
    let key = json!({"Fn::GetAtt": ["AlarmTopicKey", "Arn"]});
    let sse = &template["Resources"]["InventoryTable"]["Properties"]["SSESpecification"];
    assert_eq!(
        sse["SSEType"], "KMS",
        "the inventory holds customers' numbers: the stack's key"
    );
    assert_eq!(sse["KMSMasterKeyId"], key);
    let dlq = &template["Resources"]["DeadLetterQueue"]["Properties"];
    assert_eq!(dlq["KmsMasterKeyId"], key, "parked raw bodies: the stack's key");
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
fn the_account_registry_is_on_demand_recoverable_encrypted_retained_and_keyed_by_account() {
    let template = template();
    let table = &template["Resources"]["AccountsTable"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(
        (&table["DeletionPolicy"], &table["UpdateReplacePolicy"]),
        (&json!("Retain"), &json!("Retain")),
        "the accounts' credentials and subscriptions outlive a stack"
    );
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(
        p["SSESpecification"],
        json!({"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}})
    );
    assert_eq!(
        p["KeySchema"],
        json!([{"AttributeName": "accountId", "KeyType": "HASH"}])
    );
    assert_eq!(
        p["AttributeDefinitions"],
        json!([{"AttributeName": "accountId", "AttributeType": "S"}])
    );
    assert_eq!(
        template["Outputs"]["AccountsTableName"]["Value"],
        json!({"Ref": "AccountsTable"})
    );
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

/// Other accounts may subscribe, and do nothing else: the topic policy exists
/// only when `SubscriberAccountIds` lists accounts, grants exactly
/// `sns:Subscribe` on exactly the three event topics to exactly those accounts.
#[test]
fn subscriber_accounts_may_subscribe_to_the_event_topics_and_nothing_else() {
    let template = template();
    assert_eq!(
        template["Parameters"]["SubscriberAccountIds"]["Type"],
        "CommaDelimitedList"
    );
    assert_eq!(template["Parameters"]["SubscriberAccountIds"]["Default"], "");
    assert_eq!(
        template["Conditions"]["HasSubscriberAccounts"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "SubscriberAccountIds"}]}, ""]}]})
    );
    let policies: Vec<(&String, &Value)> = template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::SNS::TopicPolicy")
        .collect();
    let topics = json!([{"Ref": "CreatedTopic"}, {"Ref": "UpdatedTopic"}, {"Ref": "DeletedTopic"}]);
    let alarm_policies: Vec<_> = policies
        .iter()
        .filter(|(_, p)| p["Properties"]["Topics"] != topics)
        .collect();
    let event_policies: Vec<_> = policies
        .iter()
        .filter(|(_, p)| p["Properties"]["Topics"] == topics)
        .collect();
    assert_eq!(event_policies.len(), 1, "one policy on the event topics");
    assert!(
        alarm_policies
            .iter()
            .all(|(_, p)| !p["Properties"]["Topics"].to_string().contains("CreatedTopic")),
        "no other policy names an event topic"
    );
    let (_, policy) = event_policies[0];
    assert_eq!(policy["Condition"], "HasSubscriberAccounts");
    let statements = as_list(&policy["Properties"]["PolicyDocument"]["Statement"]);
    assert_eq!(
        statements,
        [json!({
            "Sid": "SubscriberAccountsMaySubscribe",
            "Effect": "Allow",
            "Principal": {"AWS": {"Ref": "SubscriberAccountIds"}},
            "Action": "sns:Subscribe",
            "Resource": topics
        })]
    );
}
