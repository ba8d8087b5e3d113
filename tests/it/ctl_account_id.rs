//! `--account-id` on the commands that talk to RingCentral, run as the real
//! binary against moto and the stand-in serving two registered accounts: the
//! account's JWT, tokens, address and lease; the only registered account
//! when the credentials hold no default account's JWT; a one-line error
//! naming the accounts when several could be meant.

use crate::ctl_accounts::{id, number_filter, one_error_line, Setup, A, B};
use crate::support::ringcentral_standin::phone_numbers::record_in;
use crate::support::ringcentral_standin::*;
use crate::support::*;
use cc_number_relay::registry::AccountRegistry;

const CC: &str = "ContactCenterNumber";

fn added(s: &Setup, accounts: &[&str]) {
    for account in accounts {
        let run = s.add(account, account, &s.webhook.address);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_heal_and_reconcile_speak_as_the_named_account() {
    let s = Setup::with_inventory().await;
    let address = s.webhook.address.clone();
    s.standin.account(A).put_number(record_in(A, 2001, "+12025550201", CC));
    added(&s, &[A, B]);
    let (old, sub_b) = (s.the_subscription_of(A), s.the_subscription_of(B));

    // The account's recorded address, its own subscription only.
    let status = ctl(&s.env, &["status", "--account-id", A]);
    assert_eq!(status.code, 0, "{}{}", status.stdout, status.stderr);
    let lines: Vec<&str> = status.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", status.stdout);
    assert_eq!(
        lines[0],
        format!("subscriptions of this app for account {A} to {address}:")
    );
    assert!(
        lines[1].contains(&old.id) && !lines[1].contains(&sub_b.id),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "healthy");

    s.standin.blacklist(&old.id, "delivery failed");
    let status = ctl(&s.env, &["status", "--account-id", A]);
    assert_eq!(status.code, 3, "{}{}", status.stdout, status.stderr);

    // Healed with the account's token, the filter naming it, under its lease; recorded.
    let heal = ctl(&s.env, &["heal", "--account-id", A]);
    assert_eq!(heal.code, 0, "{}{}", heal.stdout, heal.stderr);
    let new = s.the_subscription_of(A);
    assert_ne!(new.id, old.id, "the blacklisted one deleted, a new one created");
    let registered = s.registry.get(&id(A)).await.unwrap().unwrap();
    assert_eq!(
        new.verification_token.as_deref(),
        Some(registered.tokens.current.expose())
    );
    assert_eq!(new.event_filters, [number_filter(A)]);
    assert_eq!((new.account_id.as_str(), new.address.as_str()), (A, address.as_str()));
    assert_eq!(registered.summary.subscription.map(|r| r.id), Some(new.id.clone()));
    assert!(heal.stdout.contains(&new.id), "{}", heal.stdout);
    assert_eq!(s.the_subscription_of(B).id, sub_b.id, "B's untouched");
    assert!(s.standin.account(DEFAULT_ACCOUNT_ID).subscriptions().is_empty());
    // Its reconciliation after mending: nothing missed since the baseline.
    assert_eq!(s.received().await, []);

    // A number the webhook never delivered: the account's reconciliation tells it, as A's.
    s.standin.account(A).put_number(record_in(A, 2002, "+12025550202", CC));
    let before = registered.summary.last_reconciled_at.clone().unwrap();
    let run = ctl(&s.env, &["reconcile", "--account-id", A, "--page-interval", "0"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        s.received().await,
        [("Created", "2002".to_owned(), A.to_owned(), "reconciliation".to_owned())]
    );
    let after = s.registry.get(&id(A)).await.unwrap().unwrap().summary;
    assert!(after.last_reconciled_at.unwrap().instant() > before.instant());
    assert_eq!(after.subscription.map(|r| r.id), Some(new.id), "its check kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_default_jwt_the_only_account_is_meant_and_of_several_one_must_be_named() {
    let s = Setup::new().await;
    added(&s, &[A]);
    let sub_a = s.the_subscription_of(A);

    // The credentials hold no RINGCENTRAL_JWT, one account is registered: that one.
    let run = ctl(&s.env, &["subscriptions", "--json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        format!("account: speaking as account {A}, the only registered one (the credentials hold no RINGCENTRAL_JWT, the default account's)\n")
    );
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["subscriptions"][0]["id"], sub_a.id);

    added(&s, &[B]);
    for command in [
        &["status"][..],
        &["heal"],
        &["renew", "x"],
        &["subscriptions"],
        &["rotate-token"],
    ] {
        let run = ctl(&s.env, command);
        assert_eq!(run.code, 1, "{command:?}: {}{}", run.stdout, run.stderr);
        assert_eq!(
            one_error_line(&run),
            format!(
                "cc-number-relay-ctl: the credentials hold no RINGCENTRAL_JWT (the default account's) and 2 accounts are registered: name one with --account-id ({A}, {B})"
            ),
            "{command:?}"
        );
    }
    let run = ctl(&s.env, &["status", "--account-id", "999"]);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: account 999 is not registered (`cc-number-relay-ctl accounts list` lists those that are)"
    );

    // With the default account's JWT, no --account-id is the default account, as ever.
    let mut env = s.env.clone();
    env.extend(s.standin.env());
    let run = ctl(&env, &["status", "--address", &s.webhook.address]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout.lines().next().unwrap(),
        format!("subscriptions of this app to {}:", s.webhook.address)
    );
    let run = ctl(&env, &["status"]);
    assert_eq!(
        one_error_line(&run),
        "cc-number-relay-ctl: --address is required for the default account (the stack's WebhookUrl output); a registered account's (--account-id) is its recorded one"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rotate_token_rotates_the_named_accounts_token_in_the_registry_and_records_its_subscription() {
    let s = Setup::new().await;
    added(&s, &[A, B]);
    let (old, sub_b) = (s.the_subscription_of(A), s.the_subscription_of(B));
    let old_token = s.registry.get(&id(A)).await.unwrap().unwrap().tokens.current;

    let run = ctl(&s.env, &["rotate-token", "--account-id", A, "--settle", "0"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let new = s.the_subscription_of(A);
    assert_ne!(new.id, old.id, "the old subscription deleted");
    assert_eq!(new.event_filters, [number_filter(A)]);
    let registered = s.registry.get(&id(A)).await.unwrap().unwrap();
    assert!(!registered.tokens.rotating(), "finished");
    assert_ne!(registered.tokens.current, old_token);
    assert_eq!(
        new.verification_token.as_deref(),
        Some(registered.tokens.current.expose())
    );
    assert_eq!(registered.summary.subscription.map(|r| r.id), Some(new.id));
    assert_eq!(s.the_subscription_of(B).id, sub_b.id, "B's untouched");

    let run = ctl(&s.env, &["rotate-token", "--account-id", A, "--token-secret", "x"]);
    assert_eq!(
        one_error_line(&run),
        format!(
            "cc-number-relay-ctl: --token-secret is the default account's: account {A}'s tokens are in the registry"
        )
    );
}
