//! `cc-number-relay-ctl subscriptions` (all of the app's subscriptions, and
//! deleting orphans by id) and how `subscribe` and `heal` explain RingCentral's
//! refusals (SUB-505 with the app's subscriptions, SUB-406, SUB-523), run as
//! the real binary against the RingCentral stand-in.

use crate::support::ringcentral_standin::*;
use crate::support::*;
use std::time::Duration;

const TEN_YEARS: Duration = Duration::from_secs(315_360_000);
const OURS: &str = "http://127.0.0.1:9/ringcentral/contact-center-numbers";
const ELSEWHERE: &str = "http://127.0.0.1:9/old-stack";
const DELETE_HINT: &str =
    "look orphaned: delete those nothing else uses with `cc-number-relay-ctl subscriptions delete ID [ID...]`";

fn env(standin: &StandIn) -> Vec<(&'static str, String)> {
    let mut env = standin.env();
    env.push(("VERIFICATION_TOKEN", TOKEN.to_owned()));
    env
}

fn one_error_line(run: &Run) -> &str {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", run.stderr);
    lines[0]
}

fn expires(standin: &StandIn, id: &str) -> String {
    rfc3339(standin.subscription(id).unwrap().expiration)
}

/// Ours Active, one elsewhere Active, one elsewhere Blacklisted, ours Suspended.
fn four(standin: &StandIn) -> [String; 4] {
    let ours = standin.seed(OURS, TOKEN, TEN_YEARS);
    let other = standin.seed(ELSEWHERE, TOKEN, TEN_YEARS);
    let blacklisted = standin.seed(ELSEWHERE, TOKEN, TEN_YEARS);
    standin.blacklist(&blacklisted, "Webhook responses with code: [404]");
    let suspended = standin.seed(OURS, TOKEN, TEN_YEARS);
    standin.set_status(&suspended, "Suspended");
    [ours, other, blacklisted, suspended]
}

#[test]
fn subscriptions_lists_every_address_marking_ours_and_orphans() {
    let standin = StandIn::start();
    let [ours, other, blacklisted, suspended] = four(&standin);
    let run = ctl(&env(&standin), &["subscriptions", "--address", OURS]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "this app has 4 subscriptions (RingCentral allows about 20 per user and app):\n\
             \x20 {ours}  Active  expires {}  {OURS}  contact-center-numbers  ours\n\
             \x20 {other}  Active  expires {}  {ELSEWHERE}  contact-center-numbers  looks orphaned: delivers to another address\n\
             \x20 {blacklisted}  Blacklisted  expires {}  {ELSEWHERE}  contact-center-numbers  looks orphaned: Blacklisted, delivers nothing\n\
             \x20 {suspended}  Suspended  expires {}  {OURS}  contact-center-numbers  ours  looks orphaned: Suspended, delivers nothing\n\
             3 {DELETE_HINT}\n",
            expires(&standin, &ours),
            expires(&standin, &other),
            expires(&standin, &blacklisted),
            expires(&standin, &suspended),
        )
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    // Without --address only the status tells.
    let run = ctl(&env(&standin), &["subscriptions"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.ends_with(&format!("2 {DELETE_HINT}\n")), "{}", run.stdout);
    assert!(!run.stdout.contains("  ours"), "{}", run.stdout);

    let run = ctl(&env(&standin), &["subscriptions", "--address", OURS, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["count"], 4);
    let third = &json["subscriptions"][2];
    assert_eq!(third["id"], blacklisted.as_str());
    assert_eq!(third["status"], "Blacklisted");
    assert_eq!(third["address"], ELSEWHERE);
    assert_eq!(third["ours"], false);
    assert_eq!(third["orphaned"], "Blacklisted, delivers nothing");
    assert_eq!(
        third["eventFilters"][0],
        "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber"
    );
    assert_eq!(third["blacklistedData"]["reason"], "Webhook responses with code: [404]");
    assert_eq!(json["subscriptions"][0]["orphaned"], serde_json::Value::Null);
}

#[test]
fn subscriptions_of_an_app_with_none() {
    let standin = StandIn::start();
    let run = ctl(&env(&standin), &["subscriptions"]);
    assert_eq!((run.code, run.stdout.as_str()), (0, "this app has no subscriptions\n"));
}

#[test]
fn subscriptions_delete_by_id_says_what_was_already_gone() {
    let standin = StandIn::start();
    let [ours, other, blacklisted, _] = four(&standin);
    let run = ctl(
        &env(&standin),
        &["subscriptions", "delete", &other, &blacklisted, "5a7e0000-gone"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!(
            "deleted subscription {other}\ndeleted subscription {blacklisted}\nsubscription 5a7e0000-gone is already gone\n"
        )
    );
    assert!(standin.subscription(&other).is_none() && standin.subscription(&blacklisted).is_none());
    assert!(standin.subscription(&ours).is_some(), "only what was named");

    // One that cannot be deleted fails the run, after the others were.
    let run = ctl(&env(&standin), &["subscriptions", "delete", "../account", &ours]);
    assert_eq!(run.code, 1);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: could not delete subscription ../account: \"../account\" is not a subscription id"
    );
    assert_eq!(run.stdout, format!("deleted subscription {ours}\n"));

    // No id: a usage error.
    assert_eq!(ctl(&env(&standin), &["subscriptions", "delete"]).code, 2);
}

#[test]
fn subscribe_explains_sub_505_and_lists_the_apps_subscriptions() {
    let standin = StandIn::start();
    let ours = standin.seed(OURS, TOKEN, TEN_YEARS);
    standin.blacklist(&ours, "Read timed out");
    let other = standin.seed(ELSEWHERE, TOKEN, TEN_YEARS);
    standin.fail_create_with("SUB-505");
    let run = ctl(&env(&standin), &["subscribe", "--address", OURS]);
    assert_eq!(run.code, 1);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: RingCentral refused the subscription (SUB-505: Subscriptions limit exceeded): \
         the app has too many subscriptions (about 20 per user and app), usually orphans of earlier stacks or tests: \
         list them with `cc-number-relay-ctl subscriptions` and delete the orphans with `cc-number-relay-ctl subscriptions delete ID`"
    );
    assert_eq!(
        run.stdout,
        format!(
            "this app has 2 subscriptions (RingCentral allows about 20 per user and app):\n\
             \x20 {ours}  Blacklisted  expires {}  {OURS}  contact-center-numbers  ours  looks orphaned: Blacklisted, delivers nothing\n\
             \x20 {other}  Active  expires {}  {ELSEWHERE}  contact-center-numbers  looks orphaned: delivers to another address\n\
             2 {DELETE_HINT}\n",
            expires(&standin, &ours),
            expires(&standin, &other),
        )
    );
    assert_eq!(standin.subscriptions().len(), 2, "nothing created");
}

#[test]
fn heal_explains_sub_505_and_lists_the_apps_subscriptions() {
    let standin = StandIn::start();
    let ours = standin.seed(OURS, TOKEN, TEN_YEARS);
    standin.blacklist(&ours, "Read timed out");
    standin.fail_create_with("SUB-505");
    let run = ctl(&env(&standin), &["heal", "--address", OURS]);
    assert_eq!(run.code, 1);
    assert_eq!(
        one_error_line(&run),
        format!(
            "cc-number-relay-ctl: could not recreate the subscription to {OURS}; the dead one is kept: \
             RingCentral refused the subscription (SUB-505: Subscriptions limit exceeded): \
             the app has too many subscriptions (about 20 per user and app), usually orphans of earlier stacks or tests: \
             list them with `cc-number-relay-ctl subscriptions` and delete the orphans with `cc-number-relay-ctl subscriptions delete ID`"
        )
    );
    assert!(
        run.stdout
            .starts_with("this app has 1 subscription (RingCentral allows about 20 per user and app):\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("  {ours}  Blacklisted  ")),
        "{}",
        run.stdout
    );
    assert_eq!(standin.subscription(&ours).unwrap().status, "Blacklisted");
}

#[test]
fn subscribe_explains_sub_406() {
    let standin = StandIn::start();
    standin.fail_create_with("SUB-406");
    let run = ctl(&env(&standin), &["subscribe", "--address", OURS]);
    assert_eq!(run.code, 1);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: RingCentral refused creating the subscription with HTTP 403 \
         (SUB-406: Not allowed subscribe for events to extensions of other account): \
         the app's credentials belong to another RingCentral account than the one the event filter names: \
         put the JWT credential of a user of the account whose Contact Center numbers are relayed in RINGCENTRAL_JWT \
         (the filter's ~ is the credential's own account)"
    );
    assert!(run.stdout.is_empty(), "no listing but for SUB-505: {}", run.stdout);
}

#[test]
fn subscribe_explains_sub_523() {
    let standin = StandIn::start();
    standin.fail_create_with("SUB-523");
    let run = ctl(&env(&standin), &["subscribe", "--address", OURS]);
    assert_eq!(run.code, 1);
    assert_eq!(
        one_error_line(&run),
        format!(
            "cc-number-relay-ctl: RingCentral refused the subscription (SUB-523: HTTPS is required): \
             {OURS} is not an https:// address, and RingCentral delivers only over HTTPS: \
             use the stack's WebhookUrl output (https://...)"
        )
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn subscriptions_is_in_the_help() {
    let run = ctl(&[], &["--help"]);
    assert!(
        run.stdout.lines().any(|l| l.trim_start().starts_with("subscriptions ")),
        "{}",
        run.stdout
    );
    let run = ctl(&[], &["subscriptions", "--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("delete"), "{}", run.stdout);
}

/// The guardian's HealFailed finding (its summary goes to the alarm topic)
/// carries the code's explanation too.
#[tokio::test(flavor = "multi_thread")]
async fn the_guardians_heal_failed_finding_explains_sub_505() {
    use cc_number_relay::guardian;
    use cc_number_relay::inventory::memory::MemoryInventory;
    use cc_number_relay::ringcentral::{Client, Credentials, Sleep};
    let standin = StandIn::start();
    let ours = standin.seed(OURS, TOKEN, TEN_YEARS);
    standin.blacklist(&ours, "Read timed out");
    standin.fail_create_with("SUB-505");
    let lookup = |name: &str| standin.env().into_iter().find(|(k, _)| *k == name).map(|(_, v)| v);
    let client = Client::new(
        Credentials::from_lookup(&lookup).unwrap(),
        Duration::ZERO,
        Box::new(Sleep),
    )
    .unwrap();
    let token = cc_number_relay::token::VerificationToken::parse(TOKEN.to_owned()).unwrap();
    let inventory = MemoryInventory::default();
    let now = time::OffsetDateTime::now_utc();
    let inspection =
        tokio::task::block_in_place(|| guardian::inspect(&client, OURS, guardian::DEFAULT_RENEW_WITHIN, now)).unwrap();
    let findings = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(guardian::heal(
            &client,
            &inventory.lease("test"),
            &inspection,
            &token,
        ))
    });
    let summaries: Vec<String> = findings.iter().map(guardian::Finding::summary).collect();
    assert_eq!(
        summaries,
        [format!(
            "could not recreate the subscription to {OURS}; the dead one is kept: \
             RingCentral refused the subscription (SUB-505: Subscriptions limit exceeded): \
             the app has too many subscriptions (about 20 per user and app), usually orphans of earlier stacks or tests: \
             list them with `cc-number-relay-ctl subscriptions` and delete the orphans with `cc-number-relay-ctl subscriptions delete ID`"
        )]
    );
}
