//! The guardian binary as Lambda runs it: under `cargo lambda watch`,
//! invoked with an EventBridge scheduled event, against moto (Secrets
//! Manager, SNS, SQS) and the local RingCentral stand-in
//! (support/ringcentral_standin). Checks its answer, the findings on the alarm
//! topic, and the Embedded Metric Format lines it writes. Then the compiled
//! binary against the tests' Runtime API emulator (`support::runtime_api`):
//! two instances invoked at the same moment, and the `errorType` of a
//! failed invocation.

use crate::inventory::inventory_table;
use crate::support::ringcentral_standin::*;
use crate::support::runtime_api::{Functions, RuntimeApi};
use crate::support::*;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const FUNCTION: &str = "cc-number-relay-guardian";
const NAMESPACE: &str = "GuardianLambdaTest";

pub(crate) fn scheduled_event() -> Value {
    json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-11-27T12:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/cc-number-relay-GuardianFunctionTick"],
        "detail": {}
    })
}

fn invoke(watch: &Watch) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // The first invocation builds the binary.
        .timeout_global(Some(Duration::from_secs(900)))
        .build()
        .into();
    let url = format!(
        "http://127.0.0.1:{}/2015-03-31/functions/{FUNCTION}/invocations",
        watch.port
    );
    let mut response = agent.post(&url).send(scheduled_event().to_string()).unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{text}\n{}", watch.logs());
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The EMF documents the function wrote to stdout, in order.
fn emf_documents(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter(|l| l.contains("\"_aws\""))
        .filter_map(|l| l.find('{').and_then(|i| serde_json::from_str::<Value>(&l[i..]).ok()))
        .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE)
        .collect()
}

fn wait_for_documents(watch: &Watch, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let documents = emf_documents(&watch.logs());
        if documents.len() >= count {
            return documents;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("expected {count} EMF documents in:\n{}", watch.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_run_heals_publishes_findings_and_writes_metrics() {
    let aws = Aws::moto().await;
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let suffix = std::process::id();
    let topic = aws.topic(&format!("guardian-lambda-alarms-{suffix}"), false).await;
    let queue = aws
        .subscriber(&topic, &format!("guardian-lambda-alarm-sub-{suffix}"), false)
        .await;
    let secret = format!("guardian-lambda-rc-{suffix}");
    aws_sdk_secretsmanager::Client::new(&aws.sdk)
        .create_secret()
        .name(&secret)
        .secret_string(StandIn::credentials_secret_json())
        .send()
        .await
        .unwrap();

    let env = vec![
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ("WEBHOOK_ADDRESS", webhook.address.clone()),
        ("ALARM_TOPIC_ARN", topic),
        ("RINGCENTRAL_CREDENTIALS_SECRET", secret),
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
        ("VERIFICATION_TOKEN", TOKEN.to_owned()),
        ("METRICS_NAMESPACE", NAMESPACE.to_owned()),
    ];
    let watch = Watch::start(&env);

    // Nothing delivers to the address yet: the guardian creates the subscription.
    let first = tokio::task::block_in_place(|| invoke(&watch));
    assert_eq!(
        first,
        json!({"healthy": true, "healed": 1, "expiringSoon": 0, "findings": ["Missing", "Healed"]})
    );
    let subs = standin.subscriptions();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].address, webhook.address);
    assert_eq!(subs[0].verification_token.as_deref(), Some(TOKEN));
    let alarms = drain(&aws, &queue, 2).await;
    let kinds: Vec<&str> = alarms.iter().map(|m| m.attributes["finding"].as_str()).collect();
    assert_eq!(kinds, ["Missing", "Healed"]);
    assert_eq!(alarms[1].json()["subscriptionId"], subs[0].id.as_str());

    let documents = tokio::task::block_in_place(|| wait_for_documents(&watch, 1));
    let metrics = &documents[0];
    let names: Vec<&str> = metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    for name in ["SubscriptionHealthy", "SubscriptionHealed", "SubscriptionExpiringSoon"] {
        assert!(names.contains(&name), "{name} in {metrics}");
    }
    assert_eq!(metrics["SubscriptionHealthy"].as_f64(), Some(1.0));
    assert_eq!(metrics["SubscriptionHealed"].as_f64(), Some(1.0));
    assert_eq!(metrics["SubscriptionExpiringSoon"].as_f64(), Some(0.0));

    // Next tick: healthy, nothing published, and the metrics say so (zeros included).
    let second = tokio::task::block_in_place(|| invoke(&watch));
    assert_eq!(
        second,
        json!({"healthy": true, "healed": 0, "expiringSoon": 0, "findings": []})
    );
    assert!(drain_now(&aws, &queue).await.is_empty());
    let documents = tokio::task::block_in_place(|| wait_for_documents(&watch, 2));
    assert_eq!(documents[1]["SubscriptionHealthy"].as_f64(), Some(1.0));
    assert_eq!(documents[1]["SubscriptionHealed"].as_f64(), Some(0.0));

    // The subscription gets blacklisted; the next tick heals it.
    standin.blacklist(&subs[0].id, "Webhook responses with code: [503]");
    let third = tokio::task::block_in_place(|| invoke(&watch));
    assert_eq!(third["findings"], json!(["Blacklisted", "Healed"]));
    assert_eq!(third["healed"], 1);
    let documents = tokio::task::block_in_place(|| wait_for_documents(&watch, 3));
    assert_eq!(documents[2]["SubscriptionHealed"].as_f64(), Some(1.0));
}

#[test]
fn a_cold_start_without_configuration_stops_with_one_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_cc-number-relay-guardian"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("cold start failed: environment variable WEBHOOK_ADDRESS is not set"),
        "{text}"
    );
}

/// The guardian's environment on moto, watching `webhook`, with a
/// credentials secret and an alarm topic (or `alarm_topic`, when given)
/// whose raw-delivery queue comes back too.
/// The stand-in's app credentials in a new Secrets Manager secret; its name.
pub(crate) async fn credentials_secret(aws: &Aws, prefix: &str) -> String {
    let secret = unique(prefix);
    aws_sdk_secretsmanager::Client::new(&aws.sdk)
        .create_secret()
        .name(&secret)
        .secret_string(StandIn::credentials_secret_json())
        .send()
        .await
        .unwrap();
    secret
}

/// The guardian function's environment against the stand-in and moto, and
/// the queue subscribed to its alarm topic.
pub(crate) async fn guardian_env(
    aws: &Aws,
    standin: &StandIn,
    address: &str,
    alarm_topic: Option<String>,
) -> (Vec<(&'static str, String)>, String) {
    let topic = aws.topic(&unique("guardian-lambda-alarms"), false).await;
    let queue = aws
        .subscriber(&topic, &unique("guardian-lambda-alarm-sub"), false)
        .await;
    let secret = credentials_secret(aws, "guardian-lambda-rc").await;
    let env = vec![
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ("WEBHOOK_ADDRESS", address.to_owned()),
        ("ALARM_TOPIC_ARN", alarm_topic.unwrap_or(topic)),
        ("RINGCENTRAL_CREDENTIALS_SECRET", secret),
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
        ("VERIFICATION_TOKEN", TOKEN.to_owned()),
        ("METRICS_NAMESPACE", NAMESPACE.to_owned()),
    ];
    (env, queue)
}

/// Issue: two invocations at the same moment with no subscription to the
/// address both created one. Creating takes 2 s here (the webhook answers
/// the handshake that late), so each instance finds none before the other's
/// exists; the inventory table's lease lets one of them create it.
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_invoked_at_the_same_moment_create_one_subscription() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::SlowHandshake(Duration::from_secs(2)));
    let (mut env, queue) = guardian_env(&aws, &standin, &webhook.address, None).await;
    env.extend(topology.env().into_iter().filter(|(k, _)| k.ends_with("_TOPIC_ARN")));
    env.push(("INVENTORY_TABLE", inventory_table(&aws).await));
    let api = Arc::new(RuntimeApi::start());
    let mut functions = Functions::start(&api, env!("CARGO_BIN_EXE_cc-number-relay-guardian"), 2, &env);
    functions.wait_until_ready(&api, Duration::from_secs(60)).unwrap();

    let runs: Vec<_> = (0..2)
        .map(|_| {
            let api = api.clone();
            std::thread::spawn(move || api.invoke(&scheduled_event(), Duration::from_secs(120)))
        })
        .collect();
    let answers: Vec<Value> = runs
        .into_iter()
        .map(|run| {
            run.join()
                .unwrap()
                .unwrap_or_else(|e| panic!("{e}\n{}", functions.output()))
        })
        .collect();
    assert_eq!(
        api.invocations(),
        [("fn-0".to_owned(), 1), ("fn-1".to_owned(), 1)].into(),
        "one invocation each, at once"
    );
    let subs = standin.subscriptions();
    assert_eq!(subs.len(), 1, "{subs:?}\n{answers:?}\n{}", functions.output());
    assert_eq!(standin.handshakes().len(), 1, "one creation");
    let mut findings: Vec<Value> = answers.iter().map(|a| a["findings"].clone()).collect();
    findings.sort_by_key(|f| f.to_string());
    // The other one found the lease taken, or (had it come later) the new subscription.
    assert!(
        findings == [json!(["Missing"]), json!(["Missing", "Healed"])]
            || findings == [json!(["Missing", "HealDeferred"]), json!(["Missing", "Healed"])],
        "{findings:?}"
    );
    let alarms = drain(&aws, &queue, 3).await;
    let healed: Vec<&Received> = alarms.iter().filter(|m| m.attributes["finding"] == "Healed").collect();
    assert_eq!(healed.len(), 1);
    assert_eq!(healed[0].json()["subscriptionId"], subs[0].id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_invocation_names_its_error_type_and_says_what_failed() {
    let aws = Aws::moto().await;
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    // Findings that reach nobody fail the invocation.
    let absent = format!("arn:aws:sns:us-east-1:123456789012:{}", unique("absent"));
    let (env, _) = guardian_env(&aws, &standin, &webhook.address, Some(absent)).await;
    let api = RuntimeApi::start();
    let mut functions = Functions::start(&api, env!("CARGO_BIN_EXE_cc-number-relay-guardian"), 1, &env);
    functions.wait_until_ready(&api, Duration::from_secs(60)).unwrap();
    let error = api
        .invoke(&scheduled_event(), Duration::from_secs(120))
        .expect_err("the findings reached nobody");
    let (_, body) = error
        .split_once("the function reported an error: ")
        .unwrap_or_else(|| panic!("{error}\n{}", functions.output()));
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["errorType"], "GuardianError::Alarm", "{body}");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("publishing 2 of 2 findings to the alarm topic failed: "),
        "{message}"
    );
    assert_eq!(standin.subscriptions().len(), 1, "the run itself healed");
}
