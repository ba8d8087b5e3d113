//! Subscriptions that are Active but deaf, against the RingCentral stand-in
//! held to RingCentral's spec: the Contact Center filter listed in
//! `disabledFilters`, or missing from `eventFilters`. `status` says so and
//! exits 3; `subscribe` fails on a new subscription that comes back deaf;
//! the guardian puts a missing filter back (and reconciles), never churns
//! over a disabled one; `heal` retries a disabled one once the cause is fixed.

use crate::support::ringcentral_standin::*;
use crate::support::*;
use cc_number_relay::guardian::Finding;
use std::time::Duration;

const TEN_YEARS: Duration = Duration::from_secs(315_360_000);

fn env(standin: &StandIn) -> Vec<(&'static str, String)> {
    let mut env = standin.env();
    env.push(("VERIFICATION_TOKEN", TOKEN.to_owned()));
    env
}

#[test]
fn status_exits_non_zero_for_a_disabled_filter_and_says_what_to_do() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let id = standin.seed(&webhook.address, TOKEN, TEN_YEARS);
    standin.disable_contact_center_filter(&id, "SUB-412");
    let run = ctl(&env(&standin), &["status", "--address", &webhook.address]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[1].starts_with(&format!("  {id}  Active  expires ")),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with("CONTACT CENTER FILTER DISABLED (SUB-412: Filter is disabled: in order to receive these events, application needs to have [ReadAccounts] permission (SUB-412))"),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[2].starts_with(&format!("needs attention: subscription {id} is Active but RingCentral disabled its Contact Center filter (SUB-412: ")),
        "{}",
        lines[2]
    );
    assert!(
        lines[2].ends_with("add the permission it names (the relay needs ReadAccounts and SubscriptionWebhook) to the app in the RingCentral Developer Console, then run `cc-number-relay-ctl heal`; recreating the subscription will not help"),
        "{}",
        lines[2]
    );
}

#[test]
fn status_exits_non_zero_for_a_subscription_that_lost_the_filter() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let id = standin.seed(&webhook.address, TOKEN, TEN_YEARS);
    standin.drop_contact_center_filter(&id);
    let run = ctl(&env(&standin), &["status", "--address", &webhook.address]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("CONTACT CENTER FILTER MISSING"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "needs attention: subscription {id} is Active but its event filters (none) lack the Contact Center filter, so no number change is delivered; the guardian and `heal` put it back"
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn subscribe_fails_when_the_new_subscription_comes_back_deaf() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    standin.disable_filter_on_create("SUB-412");
    let run = ctl(&env(&standin), &["subscribe", "--address", &webhook.address]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("created subscription "), "{}", run.stdout);
    let id = standin.subscriptions()[0].id.clone();
    assert_eq!(
        run.stderr.trim(),
        format!(
            "cc-number-relay-ctl: subscription {id} is Active but RingCentral disabled its Contact Center filter (SUB-412: Filter is disabled: in order to receive these events, application needs to have [ReadAccounts] permission (SUB-412)), so no number change is delivered: add the permission it names (the relay needs ReadAccounts and SubscriptionWebhook) to the app in the RingCentral Developer Console, then run `cc-number-relay-ctl heal`; recreating the subscription will not help"
        )
    );
    assert!(
        !run.stdout.contains("reconcile"),
        "no baseline for a deaf subscription: {}",
        run.stdout
    );
}

#[test]
fn heal_puts_back_a_disabled_filter_once_the_cause_is_fixed() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let id = standin.seed(&webhook.address, TOKEN, TEN_YEARS);
    standin.disable_contact_center_filter(&id, "SUB-412");
    // The stand-in's PUT re-evaluates the filters (the permission was added).
    let run = ctl(&env(&standin), &["heal", "--address", &webhook.address]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "put the Contact Center filter back on subscription {id}; RingCentral delivers it again\n"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(standin.subscriptions().len(), 1, "the same subscription, none created");
    let status = ctl(&env(&standin), &["status", "--address", &webhook.address]);
    assert_eq!(status.code, 0, "{}", status.stdout);
    assert!(status.stdout.ends_with("healthy\n"), "{}", status.stdout);
}

mod guardian {
    use super::*;
    use crate::guardian::setup;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lost_filter_is_put_back_and_a_disabled_one_never_churned() {
        let s = setup(Behavior::Echo).await;
        let id = s.standin.seed(&s.webhook.address, TOKEN, TEN_YEARS);

        s.standin.drop_contact_center_filter(&id);
        let report = s.run().await;
        assert!(report.healthy, "{:?}", report.findings);
        assert_eq!(
            report.findings.iter().map(Finding::kind).collect::<Vec<_>>(),
            ["FilterMissing", "FiltersRestored"]
        );
        assert_eq!(report.healed, 1, "a gap closed: it reconciles (with an inventory)");
        let sub = s.standin.subscription(&id).unwrap();
        assert!(sub
            .event_filters
            .iter()
            .any(|f| f.contains("usageType=ContactCenterNumber")));
        assert_eq!(s.standin.subscriptions().len(), 1, "put back, not recreated");

        s.standin.disable_contact_center_filter(&id, "SUB-412");
        for _ in 0..2 {
            let report = s.run().await;
            assert!(!report.healthy);
            assert_eq!(
                report.findings.iter().map(Finding::kind).collect::<Vec<_>>(),
                ["FilterDisabled"]
            );
        }
        assert_eq!(
            s.standin.subscriptions().len(),
            1,
            "no churn: nothing created or deleted"
        );
        let alarms = s.alarms(4).await;
        let kinds: Vec<&str> = alarms.iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["FilterMissing", "FiltersRestored", "FilterDisabled", "FilterDisabled"]
        );
        assert_eq!(alarms[2].1["errorCode"], "SUB-412");
        assert_eq!(alarms[2].1["missingPermission"], true);
    }
}

/// `heal` with the stack's table and topics reconciles once it recreated the
/// subscription, as the guardian does: what RingCentral changed during the
/// gap is published at once.
#[tokio::test(flavor = "multi_thread")]
async fn heal_reconciles_after_recreating_a_blacklisted_subscription() {
    use crate::inventory::inventory_table;
    use crate::support::ringcentral_standin::phone_numbers::record;
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let mut env = env(&standin);
    env.extend(topology.env().into_iter().filter(|(k, _)| k.ends_with("_TOPIC_ARN")));
    env.push(("INVENTORY_TABLE", inventory_table(&aws).await));
    env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    standin.put_number(record(7001, "+12025557001", "ContactCenterNumber"));
    let baseline = ctl(&env, &["reconcile", "--page-interval", "0"]);
    assert_eq!(baseline.code, 0, "{}{}", baseline.stdout, baseline.stderr);

    let old = standin.seed(&webhook.address, TOKEN, TEN_YEARS);
    standin.blacklist(&old, "Webhook responses with code: [503]");
    standin.put_number(record(7002, "+12025557002", "ContactCenterNumber"));
    let run = ctl(&env, &["heal", "--address", &webhook.address]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("created subscription "), "{}", run.stdout);
    assert_eq!(
        lines.last().copied(),
        Some("reconcile summary: 2 numbers in 1 pages, published 1 (Created: 1), superseded by newer notifications 0, failed 0"),
        "{}",
        run.stdout
    );
    let created = drain(&aws, topology.subscriber_of("Created"), 1).await;
    assert_eq!(created[0].json()["phoneNumber"]["id"], "7002");
    assert_eq!(created[0].attributes["origin"], "reconciliation");
}
