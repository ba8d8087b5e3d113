//! The guardian over many accounts, through the library's fan-out wiring
//! (`runtime::guardian::fanout::Fanout`, what the binary runs with
//! ACCOUNTS_TABLE and GUARDIAN_QUEUE_URL) on moto (the registry's table and
//! KMS key, the guardian queue, the alarm topic, the inventory) and the
//! stand-in serving each account. The test plays the event source mapping:
//! it receives the queue's jobs 10 at a time, hands them to the worker as an
//! SQS event, and deletes what did not come back as a batch-item failure.

use crate::inventory::inventory_table;
use crate::registry::{accounts_table, stack_key};
use crate::support::ringcentral_standin::phone_numbers::record_in;
use crate::support::ringcentral_standin::*;
use crate::support::*;
use cc_number_relay::change::{AccountId, Timestamp};
use cc_number_relay::inventory::dynamodb::SCAN_TIMEOUTS;
use cc_number_relay::registry::dynamodb::DynamoRegistry;
use cc_number_relay::registry::{Account, AccountRegistry, AccountSummary};
use cc_number_relay::ringcentral::Secret;
use cc_number_relay::runtime::confirm::SqsEvent;
use cc_number_relay::runtime::guardian::fanout::Fanout;
use cc_number_relay::runtime::guardian::{Guardian, GuardianConfig};
use cc_number_relay::token::{TokenSet, VerificationToken};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 86_400);
const A_DAY: Duration = Duration::from_secs(86_400);

struct Setup {
    aws: Aws,
    standin: StandIn,
    webhook: FakeWebhook,
    alarm_queue: String,
    guardian_queue: String,
    fanout: Fanout<DynamoRegistry>,
    /// The guardian function's environment.
    env: Vec<(&'static str, String)>,
}

async fn setup() -> Setup {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let topic = aws.topic(&unique("fanout-alarms"), false).await;
    let alarm_queue = aws.subscriber(&topic, &unique("fanout-alarm-sub"), false).await;
    let secret = crate::guardian_lambda::credentials_secret(&aws, "fanout-rc").await;
    let guardian_queue = aws_sdk_sqs::Client::new(&aws.sdk)
        .create_queue()
        .queue_name(unique("guardian-jobs"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let table = accounts_table(&aws).await;
    let mut env = vec![
        ("WEBHOOK_ADDRESS", webhook.address.clone()),
        ("ALARM_TOPIC_ARN", topic),
        ("RINGCENTRAL_CREDENTIALS_SECRET", secret),
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
        ("VERIFICATION_TOKEN", TOKEN.to_owned()),
        ("INVENTORY_TABLE", inventory_table(&aws).await),
        ("ACCOUNTS_TABLE", table.clone()),
        ("GUARDIAN_QUEUE_URL", guardian_queue.clone()),
    ];
    env.extend(topology.env().into_iter().filter(|(k, _)| k.ends_with("_TOPIC_ARN")));
    let config =
        GuardianConfig::from_lookup(&|k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let queue = config.fanout.clone().unwrap().queue;
    env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    env.push(("METRICS_NAMESPACE", "GuardianFanoutTest".to_owned()));
    let guardian = Guardian {
        config,
        secrets: aws_sdk_secretsmanager::Client::new(&aws.sdk),
        sns: aws.sns.clone(),
        sdk: aws.sdk.clone(),
    };
    // Sealing needs the key; the guardian's own registry only opens (the binary passes none).
    let registry = DynamoRegistry::new(&aws.sdk, table, Some(stack_key(&aws).await), SCAN_TIMEOUTS);
    let fanout = Fanout::new(guardian, registry, queue);
    Setup {
        aws,
        standin,
        webhook,
        alarm_queue,
        guardian_queue,
        fanout,
        env,
    }
}

/// What one pass of the event source mapping did.
#[derive(Debug, Default)]
struct Pass {
    /// Jobs received, by account.
    jobs: BTreeMap<String, usize>,
    invocations: usize,
    item_failures: usize,
}

impl Setup {
    /// Registers a stand-in account in the registry, signing in with `jwt`.
    async fn register(&self, account: &str, jwt: &str) {
        let summary = AccountSummary {
            account_id: AccountId::parse(account).unwrap(),
            address: self.webhook.address.clone(),
            added_at: Timestamp::at(time::OffsetDateTime::now_utc()),
            subscription: None,
            last_checked_at: None,
            last_reconciled_at: None,
            last_finding: None,
        };
        let account = Account {
            summary,
            jwt: Secret::new(jwt.to_owned()),
            tokens: TokenSet::single(VerificationToken::parse(TOKEN.to_owned()).unwrap()),
        };
        self.fanout.registry.add(&account).await.unwrap();
    }

    /// Plays the event source mapping until the queue is empty: batches of
    /// up to 10, what failed left for a later receive (not within this pass).
    async fn work_the_queue(&self) -> Pass {
        let sqs = aws_sdk_sqs::Client::new(&self.aws.sdk);
        let mut pass = Pass::default();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&self.guardian_queue)
                .max_number_of_messages(10)
                .visibility_timeout(600)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if received.is_empty() {
                return pass;
            }
            let records: Vec<Value> = received
                .iter()
                .map(|m| json!({"messageId": m.message_id(), "body": m.body(), "eventSource": "aws:sqs"}))
                .collect();
            for m in &received {
                let job: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                *pass
                    .jobs
                    .entry(job["account"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
            let event: SqsEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
            let time_left = || Duration::from_secs(300);
            let (_, response) = self.fanout.batch(event, &time_left).await;
            pass.invocations += 1;
            let response = serde_json::to_value(&response).unwrap();
            let failed: Vec<&str> = response["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            pass.item_failures += failed.len();
            for m in received.iter().filter(|m| !failed.contains(&m.message_id().unwrap())) {
                sqs.delete_message()
                    .queue_url(&self.guardian_queue)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// The alarm topic's messages, by account (`default` without an `accountId`): their finding kinds.
    async fn alarms(&self, expected: usize) -> BTreeMap<String, Vec<String>> {
        let mut by_account: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in drain(&self.aws, &self.alarm_queue, expected).await {
            let account = m
                .attributes
                .get("accountId")
                .cloned()
                .unwrap_or_else(|| "default".into());
            if account != "default" {
                assert_eq!(m.json()["accountId"], account.as_str(), "{}", m.body);
            }
            by_account
                .entry(account)
                .or_default()
                .push(m.attributes["finding"].clone());
        }
        by_account
    }
}

const BLACKLISTED: &str = "1001";
const EXPIRING: &str = "1002";
const HEALTHY: &str = "1003";
const REVOKED: &str = "1004";

#[tokio::test(flavor = "multi_thread")]
async fn one_tick_checks_every_account_each_on_its_own_and_records_what_it_found() {
    let s = setup().await;
    for account in [BLACKLISTED, EXPIRING, HEALTHY, REVOKED] {
        let credentials = s.standin.add_account(account);
        // The revoked account's JWT is one RingCentral no longer takes.
        let jwt = if account == REVOKED {
            "eyJhbGciOiJSUzI1NiJ9.cmV2b2tlZA.c2ln".to_owned()
        } else {
            credentials.jwt
        };
        s.register(account, &jwt).await;
    }
    let dead = s
        .standin
        .account(BLACKLISTED)
        .seed(&s.webhook.address, TOKEN, TEN_YEARS);
    s.standin.blacklist(&dead, "Webhook responses with code: [503]");
    let expiring = s.standin.account(EXPIRING).seed(&s.webhook.address, TOKEN, A_DAY);
    let healthy = s.standin.account(HEALTHY).seed(&s.webhook.address, TOKEN, TEN_YEARS);
    // The default account has no subscription: it is healed too, its messages as ever.

    let scheduled = s.fanout.tick(false).await.unwrap();
    assert_eq!(
        (scheduled.listed, scheduled.enqueued.sent, scheduled.enqueued.calls),
        (4, 5, 1)
    );
    assert!(scheduled.enqueued.failed.is_empty() && scheduled.skipped_for_backlog.is_none());

    let pass = s.work_the_queue().await;
    assert_eq!(pass.invocations, 1);
    assert_eq!(pass.item_failures, 0, "an account's own trouble fails no job");
    let once: BTreeMap<String, usize> = ["default", BLACKLISTED, EXPIRING, HEALTHY, REVOKED]
        .iter()
        .map(|a| (a.to_string(), 1))
        .collect();
    assert_eq!(pass.jobs, once);

    // Each account's subscription as the check left it.
    let live = |account: &str| -> Vec<String> {
        let now = time::OffsetDateTime::now_utc();
        let subs = s.standin.account(account).subscriptions();
        subs.into_iter()
            .filter(|x| x.status == "Active" && x.expiration > now + A_DAY * 30)
            .map(|x| x.id)
            .collect()
    };
    let healed = live(BLACKLISTED);
    assert_eq!(healed.len(), 1);
    assert_ne!(healed[0], dead);
    // Recreated as the account's own: its filter names the account, not `~`.
    let recreated = s.standin.account(BLACKLISTED).subscriptions();
    let recreated = recreated
        .iter()
        .find(|x| x.id == healed[0])
        .expect("the new subscription");
    assert!(
        recreated.event_filters.contains(&format!(
            "/restapi/v1.0/account/{BLACKLISTED}/phone-number?usageType=ContactCenterNumber"
        )),
        "{:?}",
        recreated.event_filters
    );
    assert_eq!(live(EXPIRING), std::slice::from_ref(&expiring), "renewed in place");
    assert_eq!(live(HEALTHY), std::slice::from_ref(&healthy));
    assert_eq!(live(DEFAULT_ACCOUNT_ID).len(), 1);
    assert!(s.standin.account(REVOKED).subscriptions().is_empty());

    let alarms = s.alarms(7).await;
    let kinds = |list: &[&str]| list.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    assert_eq!(alarms["default"], kinds(&["Missing", "Healed"]));
    // The dead one is deleted too: the Healed finding names it as replaced.
    assert_eq!(alarms[BLACKLISTED], kinds(&["Blacklisted", "Healed"]));
    assert!(s.standin.subscription(&dead).is_none());
    assert_eq!(alarms[EXPIRING], kinds(&["ExpiringSoon", "Renewed"]));
    assert_eq!(alarms[REVOKED], kinds(&["CheckFailed"]));
    assert!(!alarms.contains_key(HEALTHY), "nothing to say about a healthy account");

    // The registry records each check.
    let listed: BTreeMap<String, AccountSummary> = s
        .fanout
        .registry
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.account_id.to_string(), a))
        .collect();
    for account in [BLACKLISTED, EXPIRING, HEALTHY, REVOKED] {
        assert!(listed[account].last_checked_at.is_some(), "{account} checked");
    }
    let subscription = |a: &str| listed[a].subscription.clone().map(|x| (x.id, x.status));
    assert_eq!(subscription(BLACKLISTED), Some((healed[0].clone(), "Active".into())));
    assert_eq!(subscription(EXPIRING), Some((expiring, "Active".into())));
    assert_eq!(subscription(HEALTHY), Some((healthy, "Active".into())));
    assert_eq!(subscription(REVOKED), None);
    for account in [BLACKLISTED, EXPIRING, HEALTHY] {
        assert_eq!(
            listed[account].last_finding, None,
            "{account}: what was done is no trouble"
        );
    }
    let trouble = listed[REVOKED].last_finding.clone().unwrap();
    assert!(
        trouble.starts_with("CheckFailed: could not check the subscriptions to "),
        "{trouble}"
    );
    assert!(trouble.contains("OAU-"), "RingCentral's code says why: {trouble}");
    // Healed accounts reconciled (their gap closed); the others were not asked to.
    assert!(listed[BLACKLISTED].last_reconciled_at.is_some());
    assert_eq!(listed[HEALTHY].last_reconciled_at, None);

    // The reconciliation tick names the account in trouble, in one message.
    let scheduled = s.fanout.tick(true).await.unwrap();
    let in_trouble: Vec<&str> = scheduled.in_trouble.iter().map(|a| a.account_id.as_str()).collect();
    assert_eq!(in_trouble, [REVOKED]);
    let digest = drain(&s.aws, &s.alarm_queue, 1).await;
    assert_eq!(digest.len(), 1);
    assert_eq!(digest[0].attributes["finding"], "AccountsInTrouble");
    assert_eq!(digest[0].json()["accounts"][0]["accountId"], REVOKED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tick_queues_nothing_while_the_last_ticks_jobs_still_wait() {
    let s = setup().await;
    s.register(HEALTHY, &s.standin.add_account(HEALTHY).jwt).await;
    assert_eq!(s.fanout.tick(false).await.unwrap().enqueued.sent, 2);
    let second = s.fanout.tick(false).await.unwrap();
    assert_eq!(second.skipped_for_backlog, Some(2));
    assert_eq!(second.enqueued.sent, 0);
    let pass = s.work_the_queue().await;
    assert_eq!(pass.jobs.values().sum::<usize>(), 2, "{pass:?}");
}

/// Figures for one full pass over N accounts (`GUARDIAN_FANOUT_ACCOUNTS`,
/// 20 by default), each with 100 Contact Center numbers and a subscription
/// a day from expiring, on the reconciliation tick: the wall time, the
/// stand-in's requests per account, the queue's messages and the worker's
/// invocations. Asserts only what the pass did, never how long it took.
#[tokio::test(flavor = "multi_thread")]
async fn guardian_fanout_bench() {
    let n: usize = std::env::var("GUARDIAN_FANOUT_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let s = setup().await;
    let started = Instant::now();
    for i in 0..n {
        let account = format!("{}", 2_000_000 + i);
        let credentials = s.standin.add_account(&account);
        let handle = s.standin.account(&account);
        for number in 0..100u64 {
            let id = (i as u64) * 1_000 + number + 1;
            handle.put_number(record_in(
                &account,
                id,
                &format!("+1650{:07}", id),
                "ContactCenterNumber",
            ));
        }
        handle.seed(&s.webhook.address, TOKEN, A_DAY);
        s.register(&account, &credentials.jwt).await;
    }
    let seeded = started.elapsed();
    let requests_before = s.standin.log().len();

    let started = Instant::now();
    let scheduled = s.fanout.tick(true).await.unwrap();
    let ticked = started.elapsed();
    let pass = s.work_the_queue().await;
    let worked = started.elapsed();
    let requests = s.standin.log().len() - requests_before;

    assert_eq!(scheduled.enqueued.sent, n + 1, "every account and the default one");
    assert_eq!(pass.item_failures, 0);
    assert_eq!(pass.jobs.len(), n + 1);
    assert!(pass.jobs.values().all(|&jobs| jobs == 1), "{pass:?}");
    let listed = s.fanout.registry.list().await.unwrap();
    assert_eq!(listed.len(), n);
    for account in &listed {
        assert_eq!(account.last_finding, None, "{account:?}");
        assert!(account.last_reconciled_at.is_some(), "{account:?}");
    }
    println!(
        "guardian fan-out over {n} accounts (+ the default one), 100 numbers each, reconciliation tick: \
         seeding {:.1} s; scheduler {:.2} s ({} messages in {} SendMessageBatch calls); \
         whole pass {:.1} s, {} worker invocations, {:.0} ms per account; \
         {requests} RingCentral requests, {:.1} per account",
        seeded.as_secs_f64(),
        ticked.as_secs_f64(),
        scheduled.enqueued.sent,
        scheduled.enqueued.calls,
        worked.as_secs_f64(),
        pass.invocations,
        worked.as_millis() as f64 / (n + 1) as f64,
        requests as f64 / (n + 1) as f64,
    );
}

/// The compiled binary with ACCOUNTS_TABLE and GUARDIAN_QUEUE_URL: a
/// schedule tick queues the jobs, and the queue's batch, as the event
/// source mapping hands it over, is answered with `batchItemFailures`. The
/// tests' Runtime API gives every invocation the relay's 3 s deadline, less
/// than one check needs (`CHECK_ROOM`): each job goes back unstarted, as it
/// would near the end of a real invocation, the one that is no job too.
/// (The library tests above run the checks themselves; `many_accounts.rs`
/// runs them through the binary, under the guardian's own 300 s timeout.)
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_schedules_on_a_tick_and_answers_a_batch_with_item_failures() {
    use crate::support::runtime_api::{Functions, RuntimeApi};
    let s = setup().await;
    s.register(HEALTHY, &s.standin.add_account(HEALTHY).jwt).await;
    let api = RuntimeApi::start();
    let mut functions = Functions::start(&api, env!("CARGO_BIN_EXE_cc-number-relay-guardian"), 1, &s.env);
    functions.wait_until_ready(&api, Duration::from_secs(60)).unwrap();
    let tick = crate::guardian_lambda::scheduled_event();
    let answer = tokio::task::block_in_place(|| api.invoke(&tick, Duration::from_secs(120)))
        .unwrap_or_else(|e| panic!("{e}\n{}", functions.output()));
    assert_eq!(
        answer,
        json!({"accounts": 1, "inTrouble": [], "queued": 2, "skippedForBacklog": null})
    );
    let received = aws_sdk_sqs::Client::new(&s.aws.sdk)
        .receive_message()
        .queue_url(&s.guardian_queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 2);
    let mut records: Vec<Value> = received
        .iter()
        .map(|m| json!({"messageId": m.message_id(), "body": m.body(), "eventSource": "aws:sqs"}))
        .collect();
    records.push(json!({"messageId": "not-a-job", "body": "{}", "eventSource": "aws:sqs"}));
    let batch = json!({ "Records": records });
    let answer = tokio::task::block_in_place(|| api.invoke(&batch, Duration::from_secs(120)))
        .unwrap_or_else(|e| panic!("{e}\n{}", functions.output()));
    let mut expected: Vec<Value> = received
        .iter()
        .map(|m| json!({"itemIdentifier": m.message_id()}))
        .collect();
    expected.push(json!({"itemIdentifier": "not-a-job"}));
    assert_eq!(answer, json!({ "batchItemFailures": expected }));
    let output = functions.output();
    assert!(
        output.contains("guardian worker: 3 jobs: 0 accounts checked"),
        "{output}"
    );
    assert!(output.contains("not started: "), "{output}");
    assert!(
        s.standin.account(DEFAULT_ACCOUNT_ID).subscriptions().is_empty(),
        "nothing started"
    );
}
