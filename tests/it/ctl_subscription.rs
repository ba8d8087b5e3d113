//! The operator CLI's RingCentral commands (`subscribe`, `status`, `renew`,
//! `heal`), run as the real binary against the local RingCentral stand-in
//! (support/ringcentral_standin). One test points the stand-in at the real
//! relay under `cargo lambda watch`: its handshake answer must satisfy
//! RingCentral's rules, and a notification the stand-in then delivers must
//! be published.

use crate::inventory::inventory_table;
use crate::support::ringcentral_standin::*;
use crate::support::*;
use cc_number_relay::inventory::dynamodb::{DynamoInventory, SCAN_TIMEOUTS};
use cc_number_relay::inventory::{LeaseTaken, SubscriptionLease};
use std::time::Duration;

const TEN_YEARS: Duration = Duration::from_secs(315_360_000);

/// The stand-in's credentials and the relay's token.
fn env(standin: &StandIn) -> Vec<(&'static str, String)> {
    let mut env = standin.env();
    env.push(("VERIFICATION_TOKEN", TOKEN.to_owned()));
    env
}

/// One line on stderr, prefixed with the command name.
fn one_error_line(run: &Run) -> &str {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", run.stderr);
    assert!(lines[0].starts_with("cc-number-relay-ctl: "), "{}", lines[0]);
    lines[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribe_against_the_real_relay_then_a_notification_is_published() {
    let aws = Aws::moto().await;
    let topology = Topology::create(&aws, false).await;
    let mut relay_env = topology.env();
    relay_env.push(("AWS_ENDPOINT_URL", moto().endpoint.clone()));
    let watch = Watch::start(&relay_env);
    watch.warm_up();
    let standin = StandIn::start();
    let address = watch.url();

    let run = ctl(&env(&standin), &["subscribe", "--address", &address]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sub = standin
        .subscriptions()
        .pop()
        .expect("the stand-in created the subscription");
    assert_eq!(
        run.stdout.trim(),
        format!(
            "created subscription {}: status Active, expires {}, address {address}\n\
             reconcile: not run (environment variable INVENTORY_TABLE is not set); the guardian's next reconciliation does it, \
             or run `cc-number-relay-ctl reconcile` with the stack's INVENTORY_TABLE and topic ARNs",
            sub.id,
            rfc3339(sub.expiration)
        )
    );

    // The relay's handshake answer met RingCentral's rules.
    let handshakes = standin.handshakes();
    assert_eq!(handshakes.len(), 1);
    let handshake = &handshakes[0];
    assert_eq!(handshake.status, Some(200));
    assert!(handshake.echoed, "Validation-Token echoed");
    assert!(
        handshake.answer_bytes <= MAX_ANSWER_BYTES,
        "{} bytes",
        handshake.answer_bytes
    );
    assert_eq!(handshake.outcome, "accepted");

    // A notification the stand-in delivers is published, and answered small.
    let body = standin.notification(&sub.id, "created");
    let delivery = standin.deliver(&sub.id, &body);
    assert_eq!(delivery.status, Some(200), "{}", delivery.body);
    assert_eq!(delivery.body, r#"{"status":"published"}"#);
    assert!(delivery.answer_bytes <= MAX_ANSWER_BYTES);
    assert!(!delivery.blacklisted);
    let received = drain(&aws, topology.subscriber_of("Created"), 1).await;
    assert_eq!(received.len(), 1);
    let change = received[0].json();
    assert_eq!(change["notificationId"], "ed1cf00c-0420-4bf5-a0ae-e659cc9f77e0");
    assert_eq!(change["subscriptionId"], sub.id.as_str());
    assert_matches_schema(&change);

    // The renewal reminder the subscription asked for: 200, nothing published or parked.
    let reminder = standin.deliver(&sub.id, &standin.notification(&sub.id, "renewal-reminder"));
    assert_eq!(reminder.status, Some(200));
    assert_eq!(reminder.body, r#"{"status":"renewal_reminder_received"}"#);
    for queue in topology.subscribers.iter().chain([&topology.dead_letter_queue]) {
        assert!(drain_now(&aws, queue).await.is_empty(), "{queue}");
    }

    assert_eq!(standin.subscription(&sub.id).unwrap().status, "Active");
    let status = ctl(&env(&standin), &["status", "--address", &address]);
    assert_eq!(status.code, 0, "{}{}", status.stdout, status.stderr);
    assert!(status.stdout.ends_with("healthy\n"), "{}", status.stdout);
}

#[test]
fn subscribe_explains_sub_520() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::NoEcho);
    let run = ctl(&env(&standin), &["subscribe", "--address", &webhook.address]);
    assert_eq!(run.code, 1);
    let line = one_error_line(&run);
    assert!(
        line.starts_with(
            "cc-number-relay-ctl: RingCentral refused the subscription (SUB-520: Validation Token is not returned): "
        ),
        "{line}"
    );
    assert!(line.contains(&webhook.address) && line.contains("usually"), "{line}");
    assert!(run.stdout.is_empty());
    assert!(standin.subscriptions().is_empty());
}

#[test]
fn subscribe_explains_sub_525() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Sized(1500));
    let run = ctl(&env(&standin), &["subscribe", "--address", &webhook.address]);
    assert_eq!(run.code, 1);
    let line = one_error_line(&run);
    assert!(line.contains("(SUB-525: WebHook server response is invalid)"), "{line}");
    assert!(line.contains("over 1,024 bytes"), "{line}");
}

#[test]
fn subscribe_needs_the_verification_token() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let run = ctl(&standin.env(), &["subscribe", "--address", &webhook.address]);
    assert_eq!(run.code, 1);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: environment variable VERIFICATION_TOKEN is not set (or use --verification-token-secret)"
    );
    assert!(webhook.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_and_token_can_come_from_secrets_manager() {
    let aws = Aws::moto().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws.sdk);
    let suffix = std::process::id();
    let credentials = format!("ctl-rc-{suffix}");
    let token = format!("ctl-token-{suffix}");
    for (name, value) in [
        (&credentials, StandIn::credentials_secret_json()),
        (
            &token,
            // As the stack creates it, mid-rotation: subscribe takes `current`.
            r#"{"current":"tokenFromTheSecret0123456789abcd","previous":"olderToken"}"#.to_owned(),
        ),
    ] {
        secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let server = vec![("RINGCENTRAL_SERVER_URL", standin.url.clone())];
    let run = ctl(
        &server,
        &[
            "subscribe",
            "--address",
            &webhook.address,
            "--credentials-secret",
            &credentials,
            "--verification-token-secret",
            &token,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let request = standin.last_subscription_request().unwrap();
    assert_eq!(
        request["deliveryMode"]["verificationToken"],
        "tokenFromTheSecret0123456789abcd"
    );

    let missing = ctl(
        &server,
        &[
            "status",
            "--address",
            &webhook.address,
            "--credentials-secret",
            "ctl-no-such-secret",
        ],
    );
    assert_eq!(missing.code, 1);
    assert!(
        one_error_line(&missing).starts_with("cc-number-relay-ctl: cannot read secret ctl-no-such-secret: "),
        "{}",
        missing.stderr
    );

    let rotate = ctl(
        &server,
        &[
            "rotate-token",
            "--address",
            &webhook.address,
            "--token-secret",
            "ctl-no-such-token-secret",
            "--credentials-secret",
            &credentials,
        ],
    );
    assert_eq!(rotate.code, 1);
    assert!(
        one_error_line(&rotate).starts_with(
            "cc-number-relay-ctl: cannot read the token secret ctl-no-such-token-secret: ResourceNotFoundException"
        ),
        "{}",
        rotate.stderr
    );
    assert!(standin.subscriptions().len() == 1, "rotate-token changed nothing");
}

#[test]
fn status_exits_non_zero_for_a_blacklisted_subscription() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::NotFoundForNotifications);
    let id = standin.seed(&webhook.address, TOKEN, TEN_YEARS);
    assert!(standin.deliver(&id, &standin.notification(&id, "created")).blacklisted);
    let run = ctl(&env(&standin), &["status", "--address", &webhook.address]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], format!("subscriptions of this app to {}:", webhook.address));
    assert!(
        lines[1].starts_with(&format!("  {id}  Blacklisted  expires ")),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("blacklisted since"), "{}", lines[1]);
    assert!(
        lines[1].ends_with(": Webhook responses with code: [404]"),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with(&format!("needs attention: subscription {id} is Blacklisted since ")));
}

#[test]
fn status_exits_non_zero_when_one_expires_within_the_threshold() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let id = standin.seed(&webhook.address, TOKEN, Duration::from_secs(2 * 86_400));
    let run = ctl(&env(&standin), &["status", "--address", &webhook.address]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout.contains(&format!("{id}  Active  expires ")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("EXPIRING SOON"), "{}", run.stdout);
    assert!(run
        .stdout
        .contains(&format!("needs attention: subscription {id} expires at ")));
    // A threshold of one day: not yet.
    let run = ctl(
        &env(&standin),
        &["status", "--address", &webhook.address, "--expiring-within", "86400"],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.ends_with("healthy\n"));
}

#[test]
fn status_exits_non_zero_when_no_subscription_delivers_to_the_address() {
    let standin = StandIn::start();
    standin.seed("http://127.0.0.1:9/elsewhere", TOKEN, TEN_YEARS);
    let run = ctl(&env(&standin), &["status", "--address", "http://127.0.0.1:9/hook"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stdout
            .contains("needs attention: no subscription of this app delivers to http://127.0.0.1:9/hook"),
        "{}",
        run.stdout
    );
}

#[test]
fn renew_extends_a_subscription_by_id() {
    let standin = StandIn::start();
    let id = standin.seed("http://127.0.0.1:9/hook", TOKEN, Duration::from_secs(3600));
    let run = ctl(&env(&standin), &["renew", &id]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let renewed = standin.subscription(&id).unwrap();
    assert!((renewed.expiration - time::OffsetDateTime::now_utc()).whole_days() > 3000);
    assert_eq!(
        run.stdout.trim(),
        format!(
            "renewed subscription {id}: status Active, expires {}",
            rfc3339(renewed.expiration)
        )
    );
    let unknown = ctl(&env(&standin), &["renew", "5a7e0000-gone"]);
    assert_eq!(unknown.code, 1);
    assert_eq!(
        one_error_line(&unknown),
        "cc-number-relay-ctl: RingCentral has no subscription 5a7e0000-gone"
    );
}

#[test]
fn heal_recreates_a_blacklisted_subscription_and_deletes_it() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let old = standin.seed(&webhook.address, TOKEN, TEN_YEARS);
    standin.blacklist(&old, "Webhook response exceeds max size. Read bytes count: [1024]");
    let run = ctl(&env(&standin), &["heal", "--address", &webhook.address]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let subs = standin.subscriptions();
    assert_eq!(subs.len(), 1, "the dead one is deleted");
    let new = &subs[0];
    assert_ne!(new.id, old);
    assert_eq!(new.status, "Active");
    assert_eq!(new.verification_token.as_deref(), Some(TOKEN));
    assert!(
        run.stdout
            .starts_with(&format!("created subscription {} to {}", new.id, webhook.address)),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!("in place of dead subscription {old}")));

    let again = ctl(&env(&standin), &["heal", "--address", &webhook.address]);
    assert_eq!(again.code, 0);
    assert_eq!(
        again.stdout.trim(),
        format!(
            "nothing to heal: Active subscription {} delivers to {}",
            new.id, webhook.address
        )
    );
}

#[test]
fn heal_recreates_a_missing_subscription() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let run = ctl(&env(&standin), &["heal", "--address", &webhook.address]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("in place of the missing subscription"),
        "{}",
        run.stdout
    );
    assert_eq!(standin.subscriptions().len(), 1);
}

#[test]
fn heal_that_cannot_recreate_keeps_the_dead_one_and_fails() {
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::WrongEcho);
    let old = standin.seed(&webhook.address, TOKEN, TEN_YEARS);
    standin.blacklist(&old, "Read timed out");
    let run = ctl(&env(&standin), &["heal", "--address", &webhook.address]);
    assert_eq!(run.code, 1);
    let line = one_error_line(&run);
    assert!(line.contains("could not recreate the subscription"), "{line}");
    assert!(line.contains("SUB-520"), "{line}");
    assert_eq!(standin.subscription(&old).unwrap().status, "Blacklisted");
}

#[tokio::test(flavor = "multi_thread")]
async fn heal_leaves_the_creation_to_a_run_holding_the_lease_and_gives_its_own_back() {
    let aws = Aws::moto().await;
    let table = inventory_table(&aws).await;
    let guardian = DynamoInventory::new(&aws.sdk, table.clone(), SCAN_TIMEOUTS).lease("guardian 0badc0de".into());
    let now = time::OffsetDateTime::now_utc();
    let until = now + time::Duration::minutes(5);
    assert_eq!(guardian.take(now, until).await.unwrap(), LeaseTaken::Taken);
    let standin = StandIn::start();
    let webhook = FakeWebhook::start(Behavior::Echo);
    let mut env = env(&standin);
    env.push(("INVENTORY_TABLE", table));

    let run = ctl(&env, &["heal", "--address", &webhook.address]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let line = one_error_line(&run);
    assert!(
        line.contains(&format!(
            "nothing Active delivers to {}, and another run (guardian 0badc0de) holds the lease to create the subscription until ",
            webhook.address
        )),
        "{line}"
    );
    assert!(standin.subscriptions().is_empty());
    assert!(webhook.received().is_empty(), "no handshake: nothing was created");

    guardian.release().await.unwrap();
    let run = ctl(&env, &["heal", "--address", &webhook.address]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("in place of the missing subscription"),
        "{}",
        run.stdout
    );
    assert_eq!(standin.subscriptions().len(), 1);
    assert_eq!(
        guardian.take(now, until).await.unwrap(),
        LeaseTaken::Taken,
        "heal gave the lease back"
    );
}

#[test]
fn bad_credentials_are_one_clear_line() {
    let standin = StandIn::start();
    let mut env = env(&standin);
    env.retain(|(k, _)| *k != "RINGCENTRAL_CLIENT_SECRET");
    env.push(("RINGCENTRAL_CLIENT_SECRET", "notTheSecretValue".to_owned()));
    let run = ctl(&env, &["status", "--address", "http://127.0.0.1:9/hook"]);
    assert_eq!(run.code, 1);
    let line = one_error_line(&run);
    assert!(
        line.starts_with("cc-number-relay-ctl: RingCentral rejected the app's credentials (invalid_client"),
        "{line}"
    );
    assert!(!line.contains("notTheSecretValue"));

    let mut env = self::env(&standin);
    env.retain(|(k, _)| *k != "RINGCENTRAL_JWT");
    let run = ctl(&env, &["status", "--address", "http://127.0.0.1:9/hook"]);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: environment variable RINGCENTRAL_JWT is not set"
    );
}

#[test]
fn a_missing_permission_is_named() {
    let standin = StandIn::start();
    standin.set_permissions(&["ReadAccounts"]);
    let run = ctl(&env(&standin), &["status", "--address", "http://127.0.0.1:9/hook"]);
    assert_eq!(run.code, 1);
    assert!(
        one_error_line(&run)
            .starts_with("cc-number-relay-ctl: the RingCentral app lacks the SubscriptionWebhook permission"),
        "{}",
        run.stderr
    );
    standin.set_permissions(&["SubscriptionWebhook"]);
    let webhook = FakeWebhook::start(Behavior::Echo);
    let run = ctl(&env(&standin), &["subscribe", "--address", &webhook.address]);
    assert!(
        one_error_line(&run).starts_with("cc-number-relay-ctl: the RingCentral app lacks the ReadAccounts permission"),
        "{}",
        run.stderr
    );
}

#[test]
fn rate_limiting_is_waited_out_as_retry_after_asks() {
    let standin = StandIn::start();
    standin.seed("http://127.0.0.1:9/hook", TOKEN, TEN_YEARS);
    standin.rate_limit(1, 1);
    let run = ctl(&env(&standin), &["status", "--address", "http://127.0.0.1:9/hook"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: RingCentral is rate limiting: waiting 1 s as Retry-After asks, then retrying the token request"
    );

    standin.rate_limit(1, 7200);
    let run = ctl(&env(&standin), &["renew", "anything"]);
    assert_eq!(run.code, 1);
    let line = one_error_line(&run);
    assert!(
        line.contains("RingCentral is rate limiting this app (CMN-301: Request rate exceeded)"),
        "{line}"
    );
    assert!(line.contains("Retry-After asks for 7200 s"), "{line}");
}

#[test]
fn every_command_is_listed_and_redrive_kept() {
    let run = ctl(&[], &["--help"]);
    assert_eq!(run.code, 0);
    for command in ["redrive", "subscribe", "status", "renew", "heal"] {
        assert!(
            run.stdout.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} in {}",
            run.stdout
        );
    }
}
