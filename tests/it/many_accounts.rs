//! Issue 26 end to end: three RingCentral accounts served by one stack,
//! through the real binaries on moto. Each account is added with
//! `cc-number-relay-ctl accounts add` (its own subscription to the relay,
//! the filter naming it, its baseline); its webhooks go through the relay
//! binary (`cargo lambda watch`, ACCOUNTS_TABLE set), each published with
//! its accountId, and a body of one account with another account's token
//! (or the default account's) is refused. Then RingCentral-side trouble:
//! account 1's subscription blacklisted, account 2's a day from expiring,
//! account 3 healthy, and changes made only in RingCentral for each. One
//! reconciliation tick of the guardian binary in fan-out mode under the
//! Runtime API emulator (the guardian's 300 s timeout) queues a job per
//! account; the test plays the event source mapping. Each account is
//! healed, renewed or left alone once, and reconciled against its own
//! truth; the example directory, fed from its raw queue, ends equal to all
//! three accounts' Contact Center numbers.

use crate::ctl_accounts::number_filter;
use crate::inventory::inventory_table;
use crate::registry::{accounts_table, stack_key};
use crate::subscriber::{contact_center_numbers, directory_binary, feed, lambda_record, subscriber_queue};
use crate::support::ringcentral_standin::phone_numbers::record_in;
use crate::support::ringcentral_standin::*;
use crate::support::runtime_api::{Functions, RuntimeApi};
use crate::support::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const CC: &str = "ContactCenterNumber";
/// Blacklisted before the tick: healed.
const ONE: &str = "71000001";
/// A day from expiring at the tick: renewed.
const TWO: &str = "72000002";
/// Healthy: left alone.
const THREE: &str = "73000003";
const ACCOUNTS: [&str; 3] = [ONE, TWO, THREE];
/// The guardian function's timeout in the template.
const GUARDIAN_TIMEOUT: Duration = Duration::from_secs(300);
const A_DAY: Duration = Duration::from_secs(86_400);

/// Each account's numbers have ids of their own: `base + n`.
fn base(account: &str) -> u64 {
    match account {
        ONE => 10_000,
        TWO => 20_000,
        THREE => 30_000,
        other => panic!("{other}"),
    }
}

fn number(account: &str, n: u64, usage: &str) -> Value {
    let id = base(account) + n;
    record_in(account, id, &format!("+1202{id:07}"), usage)
}

fn ids(account: &str, ns: &[u64]) -> BTreeSet<String> {
    ns.iter().map(|n| (base(account) + n).to_string()).collect()
}

/// A notification of the account's subscription `sub` about `record`, as RingCentral sends it.
fn webhook(standin: &StandIn, sub: &str, n: u64, at: OffsetDateTime, event_type: &str, record: &Value) -> String {
    let mut body: Value = serde_json::from_str(&standin.notification(sub, "created")).unwrap();
    body["uuid"] = format!("cccccccc-0000-4000-8000-{n:012}").into();
    body["timestamp"] = rfc3339(at).into();
    body["body"]["eventType"] = event_type.into();
    body["body"]["phoneNumberInfo"] = record.clone();
    body["body"]["phoneNumberInfo"]["id"] = record["id"].as_u64().unwrap().to_string().into();
    body.to_string()
}

/// `(account, changeType, number id, usageType)` of each message; checks the attribute and the body agree.
fn changes(messages: &[&Received]) -> BTreeSet<(String, String, String, String)> {
    let set: BTreeSet<_> = messages
        .iter()
        .map(|m| {
            let change = m.json();
            assert_eq!(change["accountId"], m.attributes["accountId"].as_str(), "{}", m.body);
            (
                m.attributes["accountId"].clone(),
                change["changeType"].as_str().unwrap().to_owned(),
                change["phoneNumber"]["id"].as_str().unwrap().to_owned(),
                change["phoneNumber"]["usageType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(set.len(), messages.len(), "each change once");
    set
}

fn change(account: &str, change_type: &str, n: u64, usage: &str) -> (String, String, String, String) {
    (
        account.to_owned(),
        change_type.to_owned(),
        (base(account) + n).to_string(),
        usage.to_owned(),
    )
}

fn by_origin<'a>(messages: &'a [Received], origin: &str) -> Vec<&'a Received> {
    messages.iter().filter(|m| m.attributes["origin"] == origin).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_accounts_one_stack_each_served_healed_and_reconciled_as_its_own() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let inventory = inventory_table(&aws).await;
    let accounts = accounts_table(&aws).await;
    let key = stack_key(&aws).await;
    let standin = StandIn::start();
    // The example directory's queue, and a tap on the topics to count what was published.
    let directory_queue = subscriber_queue(&aws, &topology, true).await;
    let tap = subscriber_queue(&aws, &topology, true).await;
    let topics: Vec<(&str, String)> = topology
        .env()
        .into_iter()
        .filter(|(k, _)| k.ends_with("_TOPIC_ARN"))
        .collect();

    // Each account before it is added: five Contact Center numbers and one other.
    for account in ACCOUNTS {
        standin.add_account(account);
        let handle = standin.account(account);
        for n in 1..=5 {
            handle.put_number(number(account, n, CC));
        }
        handle.put_number(number(account, 9, "DirectNumber"));
    }

    // The relay binary, serving the registry's accounts and the default one.
    let mut relay_env = topology.env();
    relay_env.extend([
        ("INVENTORY_TABLE", inventory.clone()),
        ("ACCOUNTS_TABLE", accounts.clone()),
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
    ]);
    let relay = Watch::start(&relay_env);
    relay.warm_up();
    let address = relay.url();

    // accounts add: the app's id and secret (no default account's JWT), the registry and its key, the stack.
    let mut ctl_env = vec![
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
        ("RINGCENTRAL_CLIENT_ID", CLIENT_ID.to_owned()),
        ("RINGCENTRAL_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("ACCOUNTS_TABLE", accounts.clone()),
        ("ACCOUNTS_KEY_ID", key.clone()),
        ("INVENTORY_TABLE", inventory.clone()),
    ];
    ctl_env.extend(topics.iter().cloned());
    let jwt_dir = std::env::temp_dir().join(unique("many-accounts-jwt"));
    std::fs::create_dir_all(&jwt_dir).unwrap();
    let mut subs: BTreeMap<&str, Sub> = BTreeMap::new();
    for account in ACCOUNTS {
        let jwt_file = jwt_dir.join(account);
        std::fs::write(&jwt_file, standin.account(account).credentials().jwt).unwrap();
        let args = [
            "accounts",
            "add",
            "--account-id",
            account,
            "--jwt-file",
            jwt_file.to_str().unwrap(),
            "--address",
            &address,
        ];
        let run = ctl(&ctl_env, &args);
        assert_eq!(run.code, 0, "{account}: {}{}", run.stdout, run.stderr);
        let mut own = standin.account(account).subscriptions();
        assert_eq!(own.len(), 1, "{account}: {own:?}");
        let sub = own.remove(0);
        assert_eq!(
            run.stdout,
            format!(
                "registered account {account}: subscription {}, status Active, expires {}, address {address}\n\
                 reconcile summary: 5 numbers in 1 pages, published 0, superseded by newer notifications 0, failed 0, \
                 took the baseline (numbers never told before, recorded quietly: 5)\n",
                sub.id,
                rfc3339(sub.expiration)
            )
        );
        assert_eq!(sub.address, address);
        assert_eq!(sub.event_filters[0], number_filter(account), "{account}");
        subs.insert(account, sub);
    }
    std::fs::remove_dir_all(&jwt_dir).unwrap();
    let tokens: BTreeSet<&str> = subs
        .values()
        .map(|s| s.verification_token.as_deref().unwrap())
        .collect();
    assert_eq!(tokens.len(), 3, "each account its own token");
    assert!(!tokens.contains(TOKEN), "none the default account's");
    assert!(standin.account(DEFAULT_ACCOUNT_ID).subscriptions().is_empty());
    // The directory joins with each account's snapshot.
    for account in ACCOUNTS {
        let run = ctl(
            &ctl_env,
            &[
                "reconcile",
                "--snapshot",
                "--account-id",
                account,
                "--page-interval",
                "0",
            ],
        );
        assert_eq!(run.code, 0, "{account}: {}{}", run.stdout, run.stderr);
    }

    // Webhooks from each account through the relay, stamped after the
    // baseline: two created, one updated (location), one deleted.
    let start = OffsetDateTime::now_utc();
    let mut n = 0;
    let mut deliver = |account: &str, event_type: &str, record: Value| {
        n += 1;
        let at = start + time::Duration::milliseconds(10 * n as i64);
        let body = webhook(&standin, &subs[account].id, n, at, event_type, &record);
        let answer = standin.deliver(&subs[account].id, &body);
        assert_eq!(answer.body, r#"{"status":"published"}"#, "{account}: {body}");
    };
    for account in ACCOUNTS {
        let handle = standin.account(account);
        for n in [11, 12] {
            handle.put_number(number(account, n, CC));
            deliver(account, "Created", number(account, n, CC));
        }
        let mut moved = number(account, 1, CC);
        moved["location"] = "Arlington, VA".into();
        handle.put_number(moved.clone());
        deliver(account, "Updated", moved);
        handle.remove_number(base(account) + 2);
        deliver(account, "Deleted", number(account, 2, CC));
    }
    let published = drain(&aws, &tap.url, 27).await;
    let mut expected = BTreeSet::new();
    for account in ACCOUNTS {
        for n in [11, 12] {
            expected.insert(change(account, "Created", n, CC));
        }
        expected.insert(change(account, "Updated", 1, CC));
        expected.insert(change(account, "Deleted", 2, CC));
    }
    assert_eq!(
        changes(&by_origin(&published, "webhook")),
        expected,
        "each with its accountId"
    );
    let snapshots: BTreeSet<_> = ACCOUNTS
        .iter()
        .flat_map(|a| (1..=5).map(|n| change(a, "Created", n, CC)))
        .collect();
    assert_eq!(changes(&by_origin(&published, "snapshot")), snapshots);
    assert_eq!(published.len(), 27);

    // Account one's body with account two's token, then with the default account's: refused, no trace.
    let forged = webhook(
        &standin,
        &subs[ONE].id,
        900,
        OffsetDateTime::now_utc(),
        "Created",
        &number(ONE, 13, CC),
    );
    for token in [subs[TWO].verification_token.clone().unwrap(), TOKEN.to_owned()] {
        let headers = [
            ("content-type", "application/json; charset=UTF-8"),
            ("verification-token", token.as_str()),
        ];
        let (status, answer, _) = relay.post(&headers, &forged);
        assert_eq!(status, 401, "{answer}");
    }
    assert!(drain_now(&aws, &tap.url).await.is_empty(), "nothing published");
    assert!(
        drain_now(&aws, &topology.dead_letter_queue).await.is_empty(),
        "nothing parked"
    );

    // RingCentral-side trouble, and changes made only in RingCentral while nothing is delivered.
    standin.blacklist(&subs[ONE].id, "Webhook responses with code: [503]");
    standin.set_expiration(&subs[TWO].id, OffsetDateTime::now_utc() + A_DAY);
    let (one, two, three) = (standin.account(ONE), standin.account(TWO), standin.account(THREE));
    for n in [21, 22] {
        one.put_number(number(ONE, n, CC));
    }
    one.remove_number(base(ONE) + 3);
    two.put_number(number(TWO, 21, CC));
    for n in [3, 11] {
        two.remove_number(base(TWO) + n);
    }
    for n in [21, 22, 23] {
        three.put_number(number(THREE, n, CC));
    }
    three.remove_number(base(THREE) + 4);
    three.put_number(number(THREE, 5, "DirectNumber"));
    let truth = |account: &str| standin.account(account).contact_center_ids();
    assert_eq!(truth(ONE), ids(ONE, &[1, 4, 5, 11, 12, 21, 22]));
    assert_eq!(truth(TWO), ids(TWO, &[1, 4, 5, 12, 21]));
    assert_eq!(truth(THREE), ids(THREE, &[1, 3, 11, 12, 21, 22, 23]));

    // The guardian in fan-out mode; its credentials secret holds the app's id and secret alone.
    let alarm_topic = aws.topic(&unique("many-accounts-alarms"), false).await;
    let alarm_queue = aws
        .subscriber(&alarm_topic, &unique("many-accounts-alarm-sub"), false)
        .await;
    let secret = aws_sdk_secretsmanager::Client::new(&aws.sdk)
        .create_secret()
        .name(unique("many-accounts-app"))
        .secret_string(
            json!({"RINGCENTRAL_CLIENT_ID": CLIENT_ID, "RINGCENTRAL_CLIENT_SECRET": CLIENT_SECRET}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let guardian_queue = aws
        .sqs
        .create_queue()
        .queue_name(unique("many-accounts-guardian"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let guardian_queue_arn = format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        guardian_queue.rsplit('/').next().unwrap()
    );
    let mut guardian_env = vec![
        ("WEBHOOK_ADDRESS", address.clone()),
        ("ALARM_TOPIC_ARN", alarm_topic),
        ("RINGCENTRAL_CREDENTIALS_SECRET", secret),
        ("RINGCENTRAL_SERVER_URL", standin.url.clone()),
        ("VERIFICATION_TOKEN", TOKEN.to_owned()),
        ("INVENTORY_TABLE", inventory.clone()),
        ("ACCOUNTS_TABLE", accounts.clone()),
        ("GUARDIAN_QUEUE_URL", guardian_queue.clone()),
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ("METRICS_NAMESPACE", "ManyAccountsTest".to_owned()),
    ];
    guardian_env.extend(topics.iter().cloned());
    let api = RuntimeApi::with_timeout(GUARDIAN_TIMEOUT);
    let mut guardian = Functions::start(&api, env!("CARGO_BIN_EXE_cc-number-relay-guardian"), 1, &guardian_env);
    guardian.wait_until_ready(&api, Duration::from_secs(60)).unwrap();
    let invoke = |event: &Value| {
        tokio::task::block_in_place(|| api.invoke(event, GUARDIAN_TIMEOUT + Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("{e}\n{}", guardian.output()))
    };

    // One reconciliation tick, then the event source mapping until the queue is empty.
    let requests_before = standin.log().len();
    // The registry records instants to the millisecond.
    let ticked_at = OffsetDateTime::now_utc();
    let ticked_at = ticked_at.replace_millisecond(ticked_at.millisecond()).unwrap();
    let pass = Instant::now();
    let tick = invoke(&json!({"reconcile": true}));
    assert_eq!(
        tick,
        json!({"accounts": 3, "inTrouble": [], "queued": 3, "skippedForBacklog": null}),
        "{}",
        guardian.output()
    );
    let mut jobs: Vec<Value> = Vec::new();
    let mut invocations = 0;
    loop {
        let received = aws
            .sqs
            .receive_message()
            .queue_url(&guardian_queue)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            break;
        }
        jobs.extend(
            received
                .iter()
                .map(|m| serde_json::from_str(m.body().unwrap()).unwrap()),
        );
        let records: Vec<Value> = received.iter().map(|m| lambda_record(m, &guardian_queue_arn)).collect();
        let answer = invoke(&json!({ "Records": records }));
        invocations += 1;
        assert_eq!(answer, json!({"batchItemFailures": []}), "{}", guardian.output());
        for m in &received {
            aws.sqs
                .delete_message()
                .queue_url(&guardian_queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    let pass = pass.elapsed();
    jobs.sort_by_key(|j| j["account"].as_str().unwrap().to_owned());
    let expected_jobs: Vec<Value> = ACCOUNTS
        .iter()
        .map(|a| json!({"account": a, "reconcile": true}))
        .collect();
    assert_eq!(jobs, expected_jobs, "one job per account, the default one not queued");
    assert_eq!(invocations, 1);

    // What the pass asked RingCentral, by the account it spoke as.
    let requests: Vec<Logged> = standin.log().split_off(requests_before);
    let asked = |account: &str, method: &str, path: &dyn Fn(&str) -> bool| {
        requests
            .iter()
            .filter(|r| r.account.as_deref() == Some(account) && r.method == method && path(&r.path))
            .count()
    };
    let create = |p: &str| p == "/restapi/v1.0/subscription";
    let renew = |p: &str| p.ends_with("/renew");
    let one_sub = |p: &str| p.starts_with("/restapi/v1.0/subscription/") && !p.ends_with("/renew");
    let writes = |a: &str| {
        (
            asked(a, "POST", &create),
            asked(a, "DELETE", &one_sub),
            asked(a, "POST", &renew),
            asked(a, "PUT", &one_sub),
        )
    };
    assert_eq!(
        writes(ONE),
        (1, 1, 0, 0),
        "account one healed once: created anew, the old deleted"
    );
    assert_eq!(writes(TWO), (0, 0, 1, 0), "account two renewed once");
    assert_eq!(writes(THREE), (0, 0, 0, 0), "account three left alone");
    assert!(
        requests
            .iter()
            .all(|r| r.account.as_deref() != Some(DEFAULT_ACCOUNT_ID)),
        "the default account not asked"
    );

    // Each account's subscription as the pass left it.
    let now = OffsetDateTime::now_utc();
    let healed = {
        let mut own = standin.account(ONE).subscriptions();
        assert_eq!(own.len(), 1, "{own:?}");
        own.remove(0)
    };
    assert_ne!(healed.id, subs[ONE].id);
    assert!(
        standin.subscription(&subs[ONE].id).is_none(),
        "the blacklisted one deleted"
    );
    assert_eq!(
        (healed.status.as_str(), healed.address.as_str()),
        ("Active", address.as_str())
    );
    assert_eq!(
        healed.event_filters[0],
        number_filter(ONE),
        "the filter naming the account"
    );
    assert_eq!(
        healed.verification_token, subs[ONE].verification_token,
        "the account's own token"
    );
    let renewed = standin.subscription(&subs[TWO].id).unwrap();
    assert_eq!(renewed.status, "Active");
    assert!(
        renewed.expiration > now + A_DAY * 30,
        "renewed in place: {}",
        rfc3339(renewed.expiration)
    );
    let left = standin.subscription(&subs[THREE].id).unwrap();
    assert_eq!(
        (left.status.as_str(), left.expiration),
        ("Active", subs[THREE].expiration)
    );
    for account in ACCOUNTS {
        assert_eq!(standin.account(account).subscriptions().len(), 1, "{account}");
    }

    // Each account's findings, naming it, on the alarm topic.
    let mut findings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in drain(&aws, &alarm_queue, 7).await {
        let account = m.attributes.get("accountId").cloned().unwrap_or_default();
        assert_eq!(m.json()["accountId"], account.as_str(), "{}", m.body);
        findings
            .entry(account)
            .or_default()
            .push(m.attributes["finding"].clone());
    }
    let kinds = |list: &[&str]| list.iter().map(|k| k.to_string()).collect::<Vec<_>>();
    assert_eq!(
        findings,
        BTreeMap::from([
            (ONE.to_owned(), kinds(&["Blacklisted", "Healed", "Reconciled"])),
            (TWO.to_owned(), kinds(&["ExpiringSoon", "Renewed", "Reconciled"])),
            (THREE.to_owned(), kinds(&["Reconciled"])),
        ])
    );

    // Each reconciled against its own truth: every change of its gap, once.
    let corrections = drain(&aws, &tap.url, 11).await;
    assert!(corrections.iter().all(|m| m.attributes["origin"] == "reconciliation"));
    assert_eq!(
        changes(&corrections.iter().collect::<Vec<_>>()),
        BTreeSet::from([
            change(ONE, "Created", 21, CC),
            change(ONE, "Created", 22, CC),
            change(ONE, "Deleted", 3, CC),
            change(TWO, "Created", 21, CC),
            change(TWO, "Deleted", 3, CC),
            change(TWO, "Deleted", 11, CC),
            change(THREE, "Created", 21, CC),
            change(THREE, "Created", 22, CC),
            change(THREE, "Created", 23, CC),
            change(THREE, "Deleted", 4, CC),
            change(THREE, "Updated", 5, "DirectNumber"),
        ])
    );
    let notifications: BTreeSet<String> = corrections
        .iter()
        .map(|m| m.json()["notificationId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(notifications.len(), 11, "each correction published once");

    // The registry records each account's state.
    let listed = ctl(&ctl_env, &["accounts", "list", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: Value = serde_json::from_str(&listed.stdout).unwrap();
    let live = [(ONE, &healed), (TWO, &renewed), (THREE, &left)];
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    for (entry, (account, sub)) in listed.as_array().unwrap().iter().zip(live) {
        assert_eq!(entry["accountId"], account);
        let at = |field: &str| {
            let text = entry[field]
                .as_str()
                .unwrap_or_else(|| panic!("{account}: {field}: {entry}"));
            OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
        };
        assert_eq!(
            (
                &entry["subscriptionId"],
                &entry["subscriptionStatus"],
                &entry["lastFinding"]
            ),
            (&json!(sub.id), &json!("Active"), &Value::Null),
            "{account}: {entry}"
        );
        // Recorded to the millisecond.
        let expires = sub.expiration;
        let expires = expires
            .replace_nanosecond(expires.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap();
        assert_eq!(at("expiresAt"), expires, "{account}: {entry}");
        for field in ["lastCheckedAt", "lastReconciledAt"] {
            assert!(at(field) >= ticked_at, "{account}: {field} by this pass: {entry}");
        }
    }

    // The example directory applies everything and ends as the three accounts are.
    let directory = RuntimeApi::start();
    let table = inventory_table(&aws).await;
    let directory_env = vec![
        ("DIRECTORY_TABLE", table.clone()),
        ("AWS_ENDPOINT_URL", moto().endpoint.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", "cc-number-directory".into()),
    ];
    let mut function = Functions::start(&directory, &directory_binary(), 1, &directory_env);
    function.wait_until_ready(&directory, Duration::from_secs(30)).unwrap();
    let fed = feed(&aws, &directory, &directory_queue).await;
    assert!(fed.failed_batches.is_empty(), "{fed:?}\n{}", function.output());
    let all: BTreeSet<String> = ACCOUNTS.iter().flat_map(|a| truth(a)).collect();
    assert_eq!(all.len(), 19);
    assert_eq!(contact_center_numbers(&aws, &table).await, all);

    let per_account: BTreeMap<&str, usize> = ACCOUNTS
        .iter()
        .map(|a| (*a, requests.iter().filter(|r| r.account.as_deref() == Some(*a)).count()))
        .collect();
    eprintln!(
        "guardian pass over 3 accounts (reconciliation tick + {invocations} worker invocation): {:.2} s; \
         RingCentral requests by account: {per_account:?} ({} in all)",
        pass.as_secs_f64(),
        requests.len()
    );
}
