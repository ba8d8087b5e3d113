//! Property tests over decode → normalize: never a panic, always a precise
//! answer, and every valid change matches the published schema and
//! round-trips.

use crate::support::schema;
use cc_number_relay::change::Change;
use cc_number_relay::notification::{decode, Inbound};
use proptest::prelude::*;
use serde_json::{json, Value};

const REASONS: [&str; 8] = [
    "invalid_base64",
    "invalid_json",
    "invalid_field",
    "unknown_event_type",
    "invalid_e164",
    "invalid_timestamp",
    "unexpected_event_filter",
    "account_mismatch",
];

fn open_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(any::<String>())
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[!-~]{1,40}".prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
    ]
}

prop_compose! {
    fn valid_notification()(
        uuid in "[!-~]{1,128}",
        kind in prop::sample::select(vec!["Created", "Updated", "Deleted"]),
        account in prop::sample::select(vec!["~".to_owned(), "{accountId}".to_owned(), "37439510".to_owned()]),
        ts in (1970u32..2100, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60, 0u32..60, prop::sample::select(vec!["Z", "+05:30", "-08:00", ".123Z"])),
        number in "\\+[1-9][0-9]{0,14}",
        id in id(),
        with_uri in any::<bool>(),
        optional in (open_string(), open_string(), open_string(), open_string(), open_string()),
        provider in prop::option::of((prop::option::of(id()), open_string())),
        subscription in open_string(),
        owner in prop::option::of(id()),
    ) -> Value {
        let (y, mo, d, h, mi, s, zone) = ts;
        let mut info = json!({
            "id": id, "phoneNumber": number,
            "paymentType": optional.0, "location": optional.1, "type": optional.2, "usageType": optional.3, "status": optional.4,
        });
        if with_uri {
            info["uri"] = json!("https://platform.ringcentral.com/restapi/v1.0/account/37439510/phone-number/1");
        }
        if let Some((pid, name)) = provider {
            info["contactCenterProvider"] = json!({"id": pid, "name": name});
        }
        json!({
            "uuid": uuid,
            "event": format!("/restapi/v1.0/account/{account}/phone-number?usageType=ContactCenterNumber"),
            "timestamp": format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{zone}"),
            "subscriptionId": subscription,
            "ownerId": owner,
            "body": {"eventType": kind, "phoneNumberInfo": info},
        })
    }
}

fn assert_precise(bytes: &[u8]) -> Result<(), TestCaseError> {
    match decode(bytes) {
        Ok(_) => Ok(()),
        Err(e) => {
            prop_assert!(REASONS.contains(&e.reason()), "unknown reason {}", e.reason());
            let detail = e.to_string();
            prop_assert!(!detail.is_empty() && detail.len() < 400, "detail: {detail}");
            prop_assert!(
                detail.starts_with('$') || detail.starts_with("not valid JSON"),
                "no path: {detail}"
            );
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_give_a_change_or_a_precise_error(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        assert_precise(&bytes)?;
    }

    #[test]
    fn any_json_gives_a_change_or_a_precise_error(text in "[\\[\\]{}:,\"a-z0-9 .+~/?=-]{0,200}") {
        assert_precise(text.as_bytes())?;
    }

    #[test]
    fn every_valid_notification_becomes_a_schema_valid_change_that_round_trips(notification in valid_notification()) {
        let bytes = notification.to_string();
        let change = match decode(bytes.as_bytes()) {
            Ok(Inbound::Change(c)) => c,
            other => return Err(TestCaseError::fail(format!("{other:?} for {bytes}"))),
        };
        let json = change.to_json();
        let value: Value = serde_json::from_str(&json).unwrap();
        let errors: Vec<String> = schema().iter_errors(&value).map(|e| e.to_string()).collect();
        prop_assert!(errors.is_empty(), "{errors:?}\n{json}");
        let back: Change = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, change.as_ref());
        prop_assert_eq!(&value["notificationId"], &notification["uuid"]);
        prop_assert_eq!(&value["occurredAt"], &notification["timestamp"]);
        prop_assert_eq!(&value["changeType"], &notification["body"]["eventType"]);
    }

    #[test]
    fn a_valid_notification_with_one_field_replaced_never_panics(
        notification in valid_notification(),
        path in prop::sample::select(vec!["uuid", "event", "timestamp", "body", "body.eventType", "body.phoneNumberInfo", "body.phoneNumberInfo.id", "body.phoneNumberInfo.phoneNumber", "body.phoneNumberInfo.contactCenterProvider", "ownerId"]),
        replacement in prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::from), any::<f64>().prop_map(|f| json!(f)), any::<String>().prop_map(Value::from), Just(json!([])), Just(json!({})), Just(json!(true))],
    ) {
        let mut n = notification;
        let target = path.split('.').fold(&mut n, |v, k| &mut v[k]);
        *target = replacement;
        assert_precise(n.to_string().as_bytes())?;
    }
}
