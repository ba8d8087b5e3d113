//! The guardian's run (credentials from Secrets Manager, check, heal under
//! the inventory's lease, duplicates, renew, findings to the alarm topic)
//! against moto (Secrets Manager, SNS, SQS, DynamoDB) and the local
//! RingCentral stand-in (support/ringcentral_standin).

use crate::support::ringcentral_standin::*;
use crate::support::{drain, drain_now, unique, Aws, TOKEN};
use cc_number_relay::guardian::{Finding, Report};
use cc_number_relay::runtime::guardian::{Guardian, GuardianConfig};
use serde_json::Value;
use std::time::Duration;

const TEN_YEARS: Duration = Duration::from_secs(315_360_000);

pub(crate) struct Setup {
    aws: Aws,
    pub standin: StandIn,
    pub webhook: FakeWebhook,
    alarm_queue: String,
    guardian: Guardian,
}

async fn secrets(aws: &Aws) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&aws.sdk)
}

/// An alarm topic with a raw-delivery queue, a secret holding `credentials`,
/// and a guardian watching `webhook`.
async fn setup_with(behavior: Behavior, credentials: &str) -> Setup {
    setup_reconciling(behavior, credentials, vec![]).await
}

/// As `setup_with`, plus whatever else the guardian's environment holds.
async fn setup_reconciling(behavior: Behavior, credentials: &str, more: Vec<(&'static str, String)>) -> Setup {
    let aws = Aws::moto().await;
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(behavior);
    let topic = aws.topic(&unique("alarms"), false).await;
    let alarm_queue = aws.subscriber(&topic, &unique("alarm-sub"), false).await;
    let secret = unique("rc-credentials");
    secrets(&aws)
        .await
        .create_secret()
        .name(&secret)
        .secret_string(credentials)
        .send()
        .await
        .unwrap();
    let mut env = vec![
        ("WEBHOOK_ADDRESS", webhook.address.clone()),
        ("ALARM_TOPIC_ARN", topic),
        ("RINGCENTRAL_CREDENTIALS_SECRET", secret),
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
        ("VERIFICATION_TOKEN", TOKEN.to_owned()),
    ];
    // A token secret, as deployed, replaces the local token.
    if more.iter().any(|(k, _)| *k == "VERIFICATION_TOKEN_SECRET_ARN") {
        env.retain(|(k, _)| *k != "VERIFICATION_TOKEN");
    }
    env.extend(more);
    let config =
        GuardianConfig::from_lookup(&|k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let guardian = Guardian {
        config,
        secrets: secrets(&aws).await,
        sns: aws.sns.clone(),
        sdk: aws.sdk.clone(),
    };
    Setup {
        aws,
        standin,
        webhook,
        alarm_queue,
        guardian,
    }
}

pub(crate) async fn setup(behavior: Behavior) -> Setup {
    setup_with(behavior, &StandIn::credentials_secret_json()).await
}

impl Setup {
    pub(crate) async fn run(&self) -> Report {
        let (report, published) = self.guardian.run(false).await;
        published.unwrap();
        report
    }

    /// The alarm-topic messages: (finding attribute, message).
    pub(crate) async fn alarms(&self, expected: usize) -> Vec<(String, Value)> {
        drain(&self.aws, &self.alarm_queue, expected)
            .await
            .into_iter()
            .map(|m| (m.attributes["finding"].clone(), m.json()))
            .collect()
    }

    fn live(&self) -> Vec<Sub> {
        let now = time::OffsetDateTime::now_utc();
        self.standin
            .subscriptions()
            .into_iter()
            .filter(|s| s.expiration > now)
            .collect()
    }
}

fn kinds(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(Finding::kind).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_subscription_raises_nothing() {
    let s = setup(Behavior::Echo).await;
    let id = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    let report = s.run().await;
    assert_eq!(
        report,
        Report {
            findings: vec![],
            healthy: true,
            healed: 0,
            expiring_soon: 0,
            subscription: report.subscription.clone(),
        }
    );
    assert_eq!(report.subscription.as_ref().map(|s| s.id.as_str()), Some(id.as_str()));
    assert!(
        drain_now(&s.aws, &s.alarm_queue).await.is_empty(),
        "no message when all is well"
    );
    assert_eq!(s.live().len(), 1);
    assert_eq!(s.live()[0].id, id);
    assert!(s.standin.handshakes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blacklisted_subscription_is_recreated_and_the_dead_one_deleted() {
    let s = setup(Behavior::NotFoundForNotifications).await;
    let old = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    // A delivery that gets a 404 blacklists it, as RingCentral does.
    let delivery = s.standin.deliver(&old, &s.standin.notification(&old, "created"));
    assert_eq!(delivery.status, Some(404));
    assert!(delivery.blacklisted);

    let report = s.run().await;
    assert_eq!(kinds(&report), ["Blacklisted", "Healed"]);
    assert!(report.healthy);
    assert_eq!(report.healed, 1);

    let live = s.live();
    assert_eq!(live.len(), 1, "the dead one is deleted: {live:?}");
    let new = &live[0];
    assert_ne!(new.id, old);
    assert_eq!(new.status, "Active");
    assert_eq!(new.address, s.webhook.address);
    assert_eq!(new.verification_token.as_deref(), Some(TOKEN));
    let handshake = &s.standin.handshakes()[0];
    assert_eq!(handshake.outcome, "accepted");

    let alarms = s.alarms(2).await;
    assert_eq!(alarms.len(), 2);
    assert_eq!(alarms[0].0, "Blacklisted");
    assert_eq!(alarms[0].1["subscriptionId"], old.as_str());
    assert_eq!(alarms[0].1["reason"], "Webhook responses with code: [404]");
    assert_eq!(alarms[1].0, "Healed");
    assert_eq!(alarms[1].1["subscriptionId"], new.id.as_str());
    assert_eq!(alarms[1].1["replaced"], serde_json::json!([old]));
    assert!(alarms[1].1["summary"].as_str().unwrap().contains(&new.id));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_expiring_soon_is_renewed() {
    let s = setup(Behavior::Echo).await;
    let id = s.standin.seed(&s.webhook.address, TOKEN, Duration::from_secs(86_400));
    let report = s.run().await;
    assert_eq!(kinds(&report), ["ExpiringSoon", "Renewed"]);
    assert_eq!(report.expiring_soon, 1);
    assert!(report.healthy);
    let renewed = s.standin.subscription(&id).unwrap();
    let left = (renewed.expiration - time::OffsetDateTime::now_utc()).whole_days();
    assert!(left > 3000, "renewed by its expiresIn: {left} days");
    let alarms = s.alarms(2).await;
    let kinds: Vec<&str> = alarms.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["ExpiringSoon", "Renewed"]);
    assert!(alarms[0].1["secondsLeft"].as_u64().unwrap() <= 86_400);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_subscription_is_recreated() {
    let s = setup(Behavior::Echo).await;
    // One that expired unnoticed: RingCentral drops it from the list.
    let gone = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    s.standin
        .set_expiration(&gone, time::OffsetDateTime::now_utc() - time::Duration::minutes(1));
    let report = s.run().await;
    assert_eq!(kinds(&report), ["Missing", "Healed"]);
    assert!(report.healthy);
    assert_eq!(report.healed, 1);
    let live = s.live();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].address, s.webhook.address);
    let request = s.standin.last_subscription_request().unwrap();
    assert_eq!(request["expiresIn"], 315_360_000);
    let alarms = s.alarms(2).await;
    assert_eq!(alarms[1].1["replaced"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_heal_keeps_the_dead_one_and_says_why() {
    let s = setup(Behavior::NoEcho).await;
    let old = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    s.standin.blacklist(&old, "Read timed out");
    let report = s.run().await;
    assert_eq!(kinds(&report), ["Blacklisted", "HealFailed"]);
    assert!(!report.healthy);
    assert_eq!(report.healed, 0);
    assert_eq!(s.standin.subscription(&old).unwrap().status, "Blacklisted", "kept");
    let alarms = s.alarms(2).await;
    let failed = &alarms[1].1;
    assert_eq!(failed["finding"], "HealFailed");
    assert!(failed["error"].as_str().unwrap().contains("SUB-520"), "{failed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_subscription_beside_a_live_one_is_deleted() {
    let s = setup(Behavior::Echo).await;
    let live = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    let dead = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    s.standin.set_status(&dead, "Suspended");
    let report = s.run().await;
    assert_eq!(kinds(&report), ["Inactive", "Removed"]);
    assert!(report.healthy);
    assert_eq!(report.healed, 0);
    let ids: Vec<String> = s.live().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, [live]);
    assert!(s.standin.handshakes().is_empty(), "nothing recreated");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_run_waits_and_completes() {
    let s = setup(Behavior::Echo).await;
    s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    s.standin.rate_limit(1, 1);
    let report = s.run().await;
    assert!(report.healthy, "{report:?}");
    assert!(report.findings.is_empty());
    let statuses: Vec<u16> = s.standin.log().iter().map(|l| l.status).collect();
    assert_eq!(statuses, [429, 200, 200]);
}

async fn check_failed(credentials: &str) -> (Setup, String) {
    let s = setup_with(Behavior::Echo, credentials).await;
    s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    let report = s.run().await;
    assert_eq!(kinds(&report), ["CheckFailed"]);
    assert!(!report.healthy);
    let alarms = s.alarms(1).await;
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].0, "CheckFailed");
    let error = alarms[0].1["error"].as_str().unwrap().to_owned();
    (s, error)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_credentials_secret_is_reported() {
    // As the stack creates it, before the operator puts the credentials in.
    let (_, error) =
        check_failed(r#"{"RINGCENTRAL_CLIENT_ID":"","RINGCENTRAL_CLIENT_SECRET":"","RINGCENTRAL_JWT":""}"#).await;
    assert!(error.contains("has no RINGCENTRAL_CLIENT_ID"), "{error}");
    assert!(error.contains("put-secret-value"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_reported_without_the_secret() {
    let credentials = serde_json::json!({
        "RINGCENTRAL_CLIENT_ID": CLIENT_ID, "RINGCENTRAL_CLIENT_SECRET": "notTheSecretValue", "RINGCENTRAL_JWT": JWT
    })
    .to_string();
    let (s, error) = check_failed(&credentials).await;
    assert!(
        error.starts_with("RingCentral rejected the app's credentials"),
        "{error}"
    );
    assert!(!error.contains("notTheSecretValue"));
    assert_eq!(s.standin.handshakes().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_permission_is_reported_by_name() {
    let s = setup(Behavior::Echo).await;
    s.standin.set_permissions(&["ReadAccounts"]);
    let report = s.run().await;
    assert_eq!(kinds(&report), ["CheckFailed"]);
    let summary = report.findings[0].summary();
    assert!(
        summary.contains("lacks the SubscriptionWebhook permission"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_secret_is_reported() {
    let mut s = setup(Behavior::Echo).await;
    s.guardian.config.credentials_secret = "no-such-secret".to_owned();
    let (report, published) = s.guardian.run(false).await;
    published.unwrap();
    assert_eq!(kinds(&report), ["CheckFailed"]);
    assert!(
        report.findings[0]
            .summary()
            .contains("cannot read secret no-such-secret"),
        "{:?}",
        report.findings
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn findings_that_reach_nobody_fail_the_run() {
    let mut s = setup(Behavior::Echo).await;
    s.guardian.config.alarm_topic =
        cc_number_relay::sink::aws::TopicArn::parse(format!("arn:aws:sns:us-east-1:123456789012:{}", unique("absent")))
            .unwrap();
    let (report, published) = s.guardian.run(false).await;
    assert_eq!(kinds(&report), ["Missing", "Healed"]);
    let error = published.unwrap_err();
    assert_eq!(error.failed, 2);
    assert!(error
        .to_string()
        .starts_with("publishing 2 of 2 findings to the alarm topic failed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_an_inventory_the_guardian_reconciles_on_schedule_and_after_a_heal() {
    use crate::inventory::inventory_table;
    use crate::support::ringcentral_standin::phone_numbers::record;
    use crate::support::Topology;
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let mut more: Vec<(&'static str, String)> = topology
        .env()
        .into_iter()
        .filter(|(k, _)| k.ends_with("_TOPIC_ARN"))
        .collect();
    more.push(("INVENTORY_TABLE", inventory_table(&aws).await));
    let s = setup_reconciling(Behavior::Echo, &StandIn::credentials_secret_json(), more).await;
    let sub = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    s.standin
        .put_number(record(5001, "+12025550501", "ContactCenterNumber"));

    // The scheduled run takes the baseline: no finding, nothing published.
    let (report, published) = s.guardian.run(true).await;
    published.unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(drain_now(&aws, topology.subscriber_of("Created")).await.is_empty());
    // One access token for the check and the reconciliation: the Auth group allows 5 a minute.
    assert_eq!(s.standin.token_grants(), 1);

    // A number RingCentral never notified: the next scheduled run publishes it and says so.
    s.standin
        .put_number(record(5002, "+12025550502", "ContactCenterNumber"));
    let (report, published) = s.guardian.run(false).await;
    published.unwrap();
    assert!(report.findings.is_empty(), "no reconciliation on a plain health tick");
    let (report, published) = s.guardian.run(true).await;
    published.unwrap();
    let reconciled = Finding::Reconciled {
        created: 1,
        updated: 0,
        reassigned_away: 0,
        deleted: 0,
        numbers: 2,
    };
    assert_eq!(report.findings, [reconciled]);
    let created = drain(&aws, topology.subscriber_of("Created"), 1).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].json()["phoneNumber"]["id"], "5002");
    assert_eq!(created[0].attributes["origin"], "reconciliation");
    let alarms = s.alarms(1).await;
    assert_eq!(alarms[0].0, "Reconciled");
    assert_eq!(alarms[0].1["created"], 1);

    // Blacklisted meanwhile, and a number deleted during the gap: heal, then reconcile at once.
    s.standin.blacklist(&sub, "Webhook responses with code: [503]");
    s.standin.remove_number(5001);
    let (report, published) = s.guardian.run(false).await;
    published.unwrap();
    assert!(
        report.findings.iter().any(|f| matches!(f, Finding::Healed { .. })),
        "{:?}",
        report.findings
    );
    assert!(report.findings.contains(&Finding::Reconciled {
        created: 0,
        updated: 0,
        reassigned_away: 0,
        deleted: 1,
        numbers: 1,
    }));
    let deleted = drain(&aws, topology.subscriber_of("Deleted"), 1).await;
    assert_eq!(deleted[0].json()["phoneNumber"]["id"], "5001");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recreated_subscription_carries_the_token_secrets_current_token_read_each_run() {
    let aws = Aws::moto().await;
    let arn = secrets(&aws)
        .await
        .create_secret()
        .name(unique("token"))
        .secret_string(r#"{"current":"tokenFromSecret1","previous":""}"#)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let credentials = StandIn::credentials_secret_json();
    let s = setup_reconciling(
        Behavior::Echo,
        &credentials,
        vec![("VERIFICATION_TOKEN_SECRET_ARN", arn.clone())],
    )
    .await;
    let report = s.run().await;
    assert_eq!(kinds(&report), ["Missing", "Healed"]);
    assert_eq!(s.live()[0].verification_token.as_deref(), Some("tokenFromSecret1"));

    // A rotation wrote a new current token; the next heal uses it.
    secrets(&aws)
        .await
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"current":"tokenFromSecret2","previous":"tokenFromSecret1"}"#)
        .send()
        .await
        .unwrap();
    s.standin
        .blacklist(&s.live()[0].id, "Webhook responses with code: [503]");
    let report = s.run().await;
    assert_eq!(kinds(&report), ["Blacklisted", "Healed"]);
    let live: Vec<Sub> = s.live().into_iter().filter(|l| l.status == "Active").collect();
    assert_eq!(live[0].verification_token.as_deref(), Some("tokenFromSecret2"));

    // A token secret that cannot be read fails the run, naming the secret, not a token.
    secrets(&aws)
        .await
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"previous":"tokenFromSecret2"}"#)
        .send()
        .await
        .unwrap();
    let report = s.run().await;
    assert_eq!(kinds(&report), ["CheckFailed"]);
    let summary = report.findings[0].summary();
    assert!(
        summary.contains(&format!(
            "the token secret {arn} is malformed: it holds no current token"
        )),
        "{summary}"
    );
    assert!(!summary.contains("tokenFromSecret"), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_active_subscriptions_outside_a_rotation_converge_to_the_newest() {
    let s = setup(Behavior::Echo).await;
    // What two runs at once left behind before the lease.
    let older = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    let newer = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    let report = s.run().await;
    assert_eq!(kinds(&report), ["Duplicate", "DuplicateRemoved"]);
    assert!(report.healthy);
    assert_eq!(report.healed, 0);
    let ids: Vec<String> = s.live().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, std::slice::from_ref(&newer));
    let alarms = s.alarms(2).await;
    assert_eq!(alarms[0].0, "Duplicate");
    assert_eq!(alarms[0].1["kept"], newer.as_str());
    assert_eq!(alarms[0].1["duplicates"], serde_json::json!([older]));
    assert_eq!(alarms[1].0, "DuplicateRemoved");
    assert_eq!(alarms[1].1["subscriptionId"], older.as_str());
    assert!(s.standin.handshakes().is_empty(), "nothing created");

    let again = s.run().await;
    assert_eq!((again.healthy, again.findings.len()), (true, 0), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn during_a_rotation_its_two_active_subscriptions_are_left_alone() {
    let aws = Aws::moto().await;
    let arn = secrets(&aws)
        .await
        .create_secret()
        .name(unique("token"))
        .secret_string(TOKEN)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let credentials = StandIn::credentials_secret_json();
    let more = vec![("VERIFICATION_TOKEN_SECRET_ARN", arn.clone())];
    let s = setup_reconciling(Behavior::Echo, &credentials, more).await;
    let retiring = s.standin.seed(&s.webhook.address, "tokenBeforeRotation", TEN_YEARS);
    let successor = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);
    let rotating = serde_json::json!({"current": TOKEN, "previous": "tokenBeforeRotation", "retiring": [retiring], "successor": successor});
    secrets(&aws)
        .await
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(rotating.to_string())
        .send()
        .await
        .unwrap();
    let report = s.run().await;
    assert_eq!((report.healthy, report.findings.len()), (true, 0), "{report:?}");
    assert_eq!(s.live().len(), 2, "rotate-token deletes the retiring one itself");
}

/// Issue: two runs at the same moment with no subscription both created
/// one. Here a guardian run and the CLI's `heal` start together; creating
/// takes 2 s (the webhook answers the handshake that late), so each finds
/// none before the other's exists. The inventory table's lease lets one
/// create it; the other leaves it to that one.
#[tokio::test(flavor = "multi_thread")]
async fn a_guardian_run_beside_heal_creates_one_subscription_between_them() {
    use crate::inventory::inventory_table;
    use crate::support::{ctl, Topology};
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let table = inventory_table(&aws).await;
    let mut more: Vec<(&'static str, String)> = topology
        .env()
        .into_iter()
        .filter(|(k, _)| k.ends_with("_TOPIC_ARN"))
        .collect();
    more.push(("INVENTORY_TABLE", table.clone()));
    let credentials = StandIn::credentials_secret_json();
    let s = setup_reconciling(Behavior::SlowHandshake(Duration::from_secs(2)), &credentials, more).await;
    let mut env = s.standin.env();
    env.push(("VERIFICATION_TOKEN", TOKEN.to_owned()));
    env.push(("INVENTORY_TABLE", table));
    let address = s.webhook.address.clone();
    let heal = std::thread::spawn(move || ctl(&env, &["heal", "--address", &address]));
    let (report, published) = s.guardian.run(false).await;
    published.unwrap();
    let heal = heal.join().unwrap();
    let story = format!(
        "guardian: {report:?}\nheal ({}): {}{}",
        heal.code, heal.stdout, heal.stderr
    );

    let live = s.live();
    assert_eq!(live.len(), 1, "{live:?}\n{story}");
    assert_eq!(s.standin.handshakes().len(), 1, "one creation\n{story}");
    let heal_created = heal.stdout.starts_with(&format!("created subscription {}", live[0].id));
    let guardian_created = report.findings.iter().any(|f| matches!(f, Finding::Healed { .. }));
    assert!(heal_created != guardian_created, "{story}");
    if guardian_created {
        // heal found the lease taken (exit 1, saying by whom), or came after and found the new one.
        let deferred = heal.code == 1 && heal.stderr.contains("holds the lease to create the subscription");
        let after = heal.code == 0
            && heal
                .stdout
                .contains(&format!("nothing to heal: Active subscription {}", live[0].id));
        assert!(deferred || after, "{story}");
    } else {
        assert_eq!(heal.code, 0, "{story}");
        let kinds = kinds(&report);
        assert!(kinds == ["Missing", "HealDeferred"] || kinds == ["Missing"], "{story}");
    }
}
