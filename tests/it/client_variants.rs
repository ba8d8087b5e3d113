//! The relay's RingCentral client against the stand-in's variants of
//! RingCentral's answers (support/ringcentral_standin/variants.rs): every
//! shape the spec allows reads the same, `disabledFilters` in either shape
//! says the Contact Center filter is disabled, a lost filter is put back
//! with the spec's PUT, and a list record that cannot be read is skipped
//! with a warning while the rest still count.

use crate::support::ringcentral_standin::*;
use crate::support::TOKEN;
use cc_number_relay::ringcentral::{
    Client, ContactCenterFilter, Credentials, PhoneNumbers, PhoneNumbersApi, Secret, ServerUrl, SubscriptionApi,
    SubscriptionStatus, Wait, MAX_EXPIRES_IN,
};
use cc_number_relay::token::VerificationToken;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Keeps the client's warnings; never asked to wait (no test here is rate limited).
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Wait for Warnings {
    fn wait(&self, delay: Duration, operation: &str) {
        panic!("asked to wait {delay:?} for {operation}");
    }

    fn warn(&self, message: &str) {
        self.0.lock().unwrap().push(message.to_owned());
    }
}

fn client(standin: &StandIn) -> (Client, Warnings) {
    let warnings = Warnings::default();
    let credentials = Credentials {
        server: ServerUrl::parse(&standin.url).unwrap(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(CLIENT_SECRET.to_owned()),
        jwt: Secret::new(JWT.to_owned()),
    };
    let client = Client::new(credentials, Duration::from_secs(30), Box::new(warnings.clone())).unwrap();
    (client, warnings)
}

fn token() -> VerificationToken {
    VerificationToken::parse(TOKEN.to_owned()).unwrap()
}

#[test]
fn every_shape_reads_and_a_disabled_contact_center_filter_is_seen_in_either_shape() {
    for shape in Shape::every() {
        let standin = StandIn::start();
        standin.set_shape(shape.clone());
        let (client, warnings) = client(&standin);
        let webhook = FakeWebhook::start(Behavior::Echo);
        let created = client
            .create_subscription(&webhook.address, &token(), MAX_EXPIRES_IN)
            .unwrap();
        assert_eq!(
            created.contact_center_filter(),
            ContactCenterFilter::Delivered,
            "{shape:?}"
        );
        standin.disable_contact_center_filter(&created.id, "SUB-412");
        let listed = client.subscriptions_to(&webhook.address).unwrap();
        assert_eq!(listed.len(), 1, "{shape:?}");
        let sub = &listed[0];
        assert_eq!((sub.id.as_str(), sub.is_active()), (created.id.as_str(), true));
        let ContactCenterFilter::Disabled(disabled) = sub.contact_center_filter() else {
            panic!("{shape:?}: {sub:?}");
        };
        assert_eq!(
            (disabled.code(), disabled.missing_permission()),
            (Some("SUB-412"), true)
        );
        assert!(warnings.0.lock().unwrap().is_empty());
        standin.assert_spec_held();
    }
}

#[test]
fn every_status_reads_and_only_active_is_active() {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    let address = "http://127.0.0.1:9/hook";
    let mut expected = vec![];
    for (status, read) in [
        ("Active", SubscriptionStatus::Active),
        ("Suspended", SubscriptionStatus::Other("Suspended".to_owned())),
        ("Blacklisted", SubscriptionStatus::Blacklisted),
        ("Blocked", SubscriptionStatus::Other("Blocked".to_owned())),
    ] {
        let id = standin.seed(address, TOKEN, Duration::from_secs(86_400));
        standin.set_status(&id, status);
        expected.push((id, read));
    }
    let listed: Vec<(String, SubscriptionStatus)> = client
        .subscriptions_to(address)
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.status))
        .collect();
    assert_eq!(listed, expected);
    standin.assert_spec_held();
}

#[test]
fn a_dropped_contact_center_filter_is_put_back_with_update_subscription() {
    let standin = StandIn::start();
    let (client, _) = client(&standin);
    let address = "http://127.0.0.1:9/hook";
    let id = standin.seed(address, TOKEN, Duration::from_secs(600));
    standin.drop_contact_center_filter(&id);
    let before = client.subscriptions_to(address).unwrap();
    assert_eq!(before[0].contact_center_filter(), ContactCenterFilter::Missing);
    let restored = client.restore_filters(&id, MAX_EXPIRES_IN).unwrap();
    assert_eq!(
        (restored.id.as_str(), restored.contact_center_filter()),
        (id.as_str(), ContactCenterFilter::Delivered)
    );
    let put: Vec<(String, u16)> = standin
        .log()
        .into_iter()
        .filter(|l| l.method == "PUT")
        .map(|l| (l.path, l.status))
        .collect();
    assert_eq!(put, [(format!("/restapi/v1.0/subscription/{id}"), 200)]);
    assert_eq!(standin.subscription(&id).unwrap().expires_in, i64::from(MAX_EXPIRES_IN));
    standin.assert_spec_held();
}

#[test]
fn a_list_record_without_id_is_skipped_with_a_warning_and_an_id_as_number_is_read() {
    let standin = StandIn::start();
    let (client, warnings) = client(&standin);
    let address = "http://127.0.0.1:9/malformed";
    let id = standin.seed(address, TOKEN, Duration::from_secs(86_400));
    standin.malformed_record(Some(Malformed::WithoutId));
    let listed: Vec<String> = client
        .subscriptions_to(address)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&id));
    assert_eq!(
        *warnings.0.lock().unwrap(),
        ["skipped subscription record 2 of RingCentral's list, which could not be read: missing field `id`"]
    );
    standin.malformed_record(Some(Malformed::IdAsNumber));
    let listed: Vec<String> = client
        .subscriptions_to(address)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, [id, "4200000001".to_owned()]);
    assert_eq!(warnings.0.lock().unwrap().len(), 1, "no new warning");
    assert_eq!(standin.tolerated().len(), 1);
    standin.assert_spec_held();
}

#[test]
fn contact_center_numbers_read_in_every_shape_with_int64_ids() {
    for shape in Shape::every()
        .into_iter()
        .filter(|s| s.disabled_filter_code == DisabledFilterCode::Reason)
    {
        let standin = StandIn::start();
        standin.set_shape(shape.clone());
        standin.set_page_cap(2);
        for (id, usage_type) in [
            (7001, "ContactCenterNumber"),
            (7002, "DirectNumber"),
            (7003, "ContactCenterNumber"),
            (9_007_199_254_740_993, "ContactCenterNumber"),
        ] {
            standin.put_number(phone_numbers::record(
                id,
                &format!("+1202555{:04}", id % 10_000),
                usage_type,
            ));
        }
        let (client, _) = client(&standin);
        let api = PhoneNumbers {
            client: &client,
            page_interval: Duration::ZERO,
        };
        let listing = api.contact_center_numbers(&mut |_, _| {}).unwrap();
        let ids: std::collections::BTreeSet<String> = listing
            .numbers
            .iter()
            .map(|n| n.phone_number.id.as_str().to_owned())
            .collect();
        assert_eq!(ids, standin.contact_center_ids(), "{shape:?}");
        assert!(listing.unreadable.is_empty(), "{shape:?}: {:?}", listing.unreadable);
        assert_eq!(listing.pages, 2);
        standin.assert_spec_held();
    }
}
