//! The RingCentral stand-in held to RingCentral's published spec
//! (support/ringcentral_standin/spec.rs): the check fails on a request or
//! an answer outside it, and every variant knob stays inside it.

use crate::support::ringcentral_standin::*;
use crate::support::{base64, TOKEN};
use serde_json::{json, Value};
use std::time::Duration;

const NUMBER_RECORD: &str = "/paths/~1restapi~1v1.0~1account~1{accountId}~1phone-number~1{phoneNumberId}/get/responses/default/content/application~1json/schema/properties";
const STATUS_QUERY: &str = "/paths/~1restapi~1v1.0~1account~1{accountId}~1phone-number/get/parameters/4/schema";
const SUBSCRIPTION_STATUS: &str =
    "/paths/~1restapi~1v1.0~1subscription~1{subscriptionId}/get/responses/200/content/application~1json/schema/properties/status";

/// An authorized caller of the stand-in's API, with no client of the relay's in between.
struct Api {
    url: String,
    bearer: String,
    agent: ureq::Agent,
}

struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Api {
    fn new(standin: &StandIn) -> Api {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let basic = format!("Basic {}", base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes()));
        let granted = agent
            .post(format!("{}/restapi/oauth/token", standin.url))
            .header("Authorization", &basic)
            .send_form([
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", JWT),
            ])
            .unwrap();
        let bearer = format!("Bearer {}", reply(granted).body["access_token"].as_str().unwrap());
        Api {
            url: standin.url.clone(),
            bearer,
            agent,
        }
    }

    fn get(&self, path: &str) -> Reply {
        reply(
            self.agent
                .get(format!("{}{path}", self.url))
                .header("Authorization", &self.bearer)
                .call()
                .unwrap(),
        )
    }

    fn post(&self, path: &str, body: Option<Value>) -> Reply {
        let request = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("Authorization", &self.bearer);
        reply(match body {
            Some(body) => request
                .header("Content-Type", "application/json")
                .send(body.to_string())
                .unwrap(),
            None => request.send_empty().unwrap(),
        })
    }

    fn put(&self, path: &str, body: Value) -> Reply {
        reply(
            self.agent
                .put(format!("{}{path}", self.url))
                .header("Authorization", &self.bearer)
                .header("Content-Type", "application/json")
                .send(body.to_string())
                .unwrap(),
        )
    }
}

fn reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.body_mut().read_to_string().unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    Reply {
        status,
        retry_after,
        body,
    }
}

/// (operation, direction, pointer, schema path of the rule) of each violation.
fn named(violations: &[Violation]) -> Vec<(String, String, String, String)> {
    violations
        .iter()
        .map(|v| {
            let rule = v.rule.split(':').next().unwrap_or_default().to_owned();
            (v.operation.clone(), v.direction.clone(), v.pointer.clone(), rule)
        })
        .collect()
}

fn four(operation: &str, direction: &str, pointer: &str, rule: &str) -> (String, String, String, String) {
    (operation.into(), direction.into(), pointer.into(), rule.into())
}

fn subscription_request(address: &str) -> Value {
    json!({
        "eventFilters": [CONTACT_CENTER_FILTER],
        "deliveryMode": {"transportType": "WebHook", "address": address, "verificationToken": TOKEN},
        "expiresIn": 315_360_000
    })
}

#[test]
fn requests_outside_the_spec_are_refused_and_named() {
    let standin = StandIn::start();
    let api = Api::new(&standin);
    let refused = [
        api.get("/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber&perPage=many"),
        api.get("/restapi/v1.0/account/~/phone-number?usageType=ContactCentreNumber"),
        api.get("/restapi/v1.0/account/~/phone-number?per_page=10"),
        api.get("/restapi/v1.0/account/~/phone-number/not-a-number"),
        api.post(
            "/restapi/v1.0/subscription",
            Some(json!({"deliveryMode": {"transportType": "Webhook", "address": "http://127.0.0.1:9/"}})),
        ),
        api.post("/restapi/v1.0/subscription", None),
        api.put("/restapi/v1.0/subscription/any", json!({"expiresIn": "forever"})),
        api.get("/restapi/v1.0/subscriptions"),
        api.post("/restapi/v1.0/account/~/phone-number", None),
    ];
    for r in &refused {
        assert_eq!(
            (r.status, &r.body["errorCode"]),
            (500, &json!("STANDIN-SPEC-VIOLATION"))
        );
    }
    let list = "listAccountPhoneNumbers";
    let create = "createSubscription";
    let update = "updateSubscription";
    assert_eq!(
        named(&standin.take_violations()),
        vec![
            four(list, "request", "/query/perPage", "/type"),
            four(list, "request", "/query/usageType/0", "/items/enum"),
            four(
                list,
                "request",
                "/query/per_page",
                "the operation declares no such query parameter"
            ),
            four("readAccountPhoneNumber", "request", "/path/phoneNumberId", "/type"),
            four(create, "request", "", "/required"),
            four(
                create,
                "request",
                "/deliveryMode/transportType",
                "/properties/deliveryMode/properties/transportType/enum"
            ),
            four(create, "request", "", "the request body is required"),
            four(update, "request", "", "/required"),
            four(update, "request", "/expiresIn", "/properties/expiresIn/type"),
            four(
                "GET /restapi/v1.0/subscriptions",
                "request",
                "",
                "the spec has no path like this"
            ),
            four(
                "POST /restapi/v1.0/account/~/phone-number",
                "request",
                "",
                "the spec has no operation for this method on this path"
            ),
        ]
    );
}

#[test]
fn a_token_request_outside_the_spec_is_named() {
    let standin = StandIn::start();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let answer = agent
        .post(format!("{}/restapi/oauth/token", standin.url))
        .header("Authorization", "Bearer not-basic")
        .send_form([("grant_type", "password"), ("username", "someone")])
        .unwrap();
    assert_eq!(answer.status().as_u16(), 500);
    let violations = standin.take_violations();
    assert_eq!(violations[1].rule, r#"/required: "assertion" is a required property"#);
    assert_eq!(
        named(&violations),
        vec![
            four("getToken", "request", "/header/Authorization", "/pattern"),
            four("getToken", "request", "", "/required"),
            four("getToken", "request", "/grant_type", "/properties/grant_type/enum"),
        ]
    );
}

#[test]
fn answers_outside_the_spec_are_caught_and_replaced() {
    let standin = StandIn::start();
    let api = Api::new(&standin);
    let id = standin.seed("http://127.0.0.1:9/hook", TOKEN, Duration::from_secs(86_400));
    // A status no document names, and the event doc's `Voice`, which the resource does not have.
    standin.set_status(&id, "Sleeping");
    let mut number = phone_numbers::record(11, "+12025550111", "ContactCenterNumber");
    number["type"] = json!("Voice");
    standin.put_number(number);
    let read = api.get(&format!("/restapi/v1.0/subscription/{id}"));
    let listed = api.get("/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber");
    for r in [&read, &listed] {
        assert_eq!(
            (r.status, &r.body["errorCode"]),
            (500, &json!("STANDIN-SPEC-VIOLATION"))
        );
    }
    assert!(
        read.body["message"]
            .as_str()
            .unwrap()
            .contains("readSubscription answer 200: at `/status`"),
        "{}",
        read.body
    );
    assert_eq!(
        named(&standin.take_violations()),
        vec![
            four("readSubscription", "answer 200", "/status", "/properties/status/enum"),
            four(
                "listAccountPhoneNumbers",
                "answer 200",
                "/records/0/type",
                "/properties/records/items/properties/type/enum"
            ),
        ]
    );
}

#[test]
fn an_undeclared_error_code_is_caught() {
    let standin = StandIn::start();
    let api = Api::new(&standin);
    // SUB-525 is a code of createSubscription, not of listSubscriptions.
    standin.fail_creations("SUB-525", 1);
    let created = api.post(
        "/restapi/v1.0/subscription",
        Some(subscription_request("http://127.0.0.1:9/")),
    );
    assert_eq!((created.status, &created.body["errorCode"]), (400, &json!("SUB-525")));
    assert!(standin.take_violations().is_empty());
    assert_eq!(
        named(&spec::check_answer(
            spec::operation("listSubscriptions"),
            400,
            &[],
            &json!({"errors": [{"errorCode": "SUB-525", "message": "WebHook server response is invalid"}]}).to_string(),
        )),
        vec![four(
            "listSubscriptions",
            "answer 400",
            "/errors/0/errorCode",
            "x-error-codes"
        )]
    );
    // ErrorResponse's shape: `errors` is an array of objects.
    assert_eq!(
        named(&spec::check_answer(
            spec::operation("readSubscription"),
            404,
            &[],
            r#"{"errors": "CMN-102"}"#
        )),
        vec![four(
            "readSubscription",
            "answer 404",
            "/errors",
            "/properties/errors/type"
        )]
    );
}

#[test]
fn a_violation_fails_the_test_when_the_stand_in_is_dropped() {
    let outcome = std::panic::catch_unwind(|| {
        let standin = StandIn::start();
        let api = Api::new(&standin);
        api.get("/restapi/v1.0/account/~/phone-number?perPage=lots");
    });
    let panic = outcome.expect_err("dropping a stand-in that saw a violation must fail");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("1 violation(s) of RingCentral's spec")
            && message.contains("listAccountPhoneNumbers request: at `/query/perPage`: /type"),
        "{message}"
    );
}

#[test]
fn every_subscription_status_is_served_within_the_spec_and_blocked_by_exception() {
    let statuses = spec::enum_values(SUBSCRIPTION_STATUS);
    assert_eq!(statuses, ["Active", "Suspended", "Blacklisted"]);
    let standin = StandIn::start();
    let api = Api::new(&standin);
    for status in statuses.iter().map(String::as_str).chain(["Blocked"]) {
        let id = standin.seed("http://127.0.0.1:9/hook", TOKEN, Duration::from_secs(86_400));
        standin.set_status(&id, status);
        let read = api.get(&format!("/restapi/v1.0/subscription/{id}"));
        assert_eq!((read.status, &read.body["status"]), (200, &json!(status)));
    }
    let listed = api.get("/restapi/v1.0/subscription");
    assert_eq!(listed.body["records"].as_array().unwrap().len(), 4);
    standin.assert_spec_held();
}

#[test]
fn every_shape_of_subscription_is_within_the_spec() {
    for shape in Shape::every() {
        let standin = StandIn::start();
        standin.set_shape(shape.clone());
        let api = Api::new(&standin);
        let webhook = FakeWebhook::start(Behavior::Echo);
        let created = api.post(
            "/restapi/v1.0/subscription",
            Some(subscription_request(&webhook.address)),
        );
        assert_eq!(created.status, 200, "{shape:?}: {}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let digits = id.chars().all(|c| c.is_ascii_digit());
        assert_eq!(digits, shape.subscription_ids == SubscriptionIds::Digits, "{id}");
        standin.disable_contact_center_filter(&id, "SUB-412");
        let blacklisted = standin.seed(&webhook.address, TOKEN, Duration::from_secs(3600));
        standin.blacklist(&blacklisted, "Webhook responses with code: [404]");
        let read = api.get(&format!("/restapi/v1.0/subscription/{id}"));
        let disabled = &read.body["disabledFilters"][0];
        assert_eq!(disabled["filter"], CONTACT_CENTER_FILTER);
        let (reason, code) = match shape.disabled_filter_code {
            DisabledFilterCode::Reason => (json!("SUB-412"), Value::Null),
            DisabledFilterCode::ErrorCode => (Value::Null, json!("SUB-412")),
            DisabledFilterCode::Both => (json!("SUB-412"), json!("SUB-412")),
        };
        assert_eq!(
            (&disabled["reason"], &disabled["errorCode"]),
            (&reason, &code),
            "{shape:?}"
        );
        assert_eq!(read.body["uri"].is_null(), shape.optional_absent, "{shape:?}");
        assert_eq!(read.body["creationTime"].is_null(), shape.optional_absent);
        assert_eq!(
            read.body["deliveryMode"]["transportType"].is_null(),
            shape.optional_absent
        );
        assert_eq!(read.body["standinAddedLater"].is_null(), !shape.extra_properties);
        let listed = api.get("/restapi/v1.0/subscription");
        assert_eq!(listed.body["records"].as_array().unwrap().len(), 2);
        assert_eq!(listed.body["standinAddedLater"].is_null(), !shape.extra_properties);
        let renewed = api.post(&format!("/restapi/v1.0/subscription/{id}/renew"), None);
        assert_eq!(renewed.status, 200);
        let updated = api.put(
            &format!("/restapi/v1.0/subscription/{id}"),
            json!({"eventFilters": [CONTACT_CENTER_FILTER], "expiresIn": 3600}),
        );
        assert_eq!(updated.status, 200);
        let refused = api.post(&format!("/restapi/v1.0/subscription/{blacklisted}/renew"), None);
        assert_eq!(
            (refused.status, &refused.body["errors"][0]["errorCode"]),
            (400, &json!("SUB-528"))
        );
        standin.assert_spec_held();
    }
}

#[test]
fn every_phone_number_enum_value_and_shape_is_within_the_spec() {
    let values = |property: &str| spec::enum_values(&format!("{NUMBER_RECORD}/{property}"));
    let usage_types = values("usageType");
    let payment_types = values("paymentType");
    let types = values("type");
    // The record's status is an open string; the query parameter's enum, and the event doc's `Unknown`.
    let statuses: Vec<String> = spec::enum_values(STATUS_QUERY)
        .into_iter()
        .chain(["Unknown".to_owned()])
        .collect();
    assert_eq!(
        (usage_types.len(), payment_types.len(), types.len(), statuses.len()),
        (13, 5, 3, 5)
    );
    for shape in Shape::every()
        .into_iter()
        .filter(|s| s.disabled_filter_code == DisabledFilterCode::Reason)
    {
        let standin = StandIn::start();
        standin.set_shape(shape.clone());
        let api = Api::new(&standin);
        let mut id = 1_000_u64;
        for (i, usage_type) in usage_types.iter().enumerate() {
            id += 1;
            let mut record = phone_numbers::record(id, &format!("+1202555{id:04}"), usage_type);
            record["paymentType"] = json!(payment_types[i % payment_types.len()]);
            record["type"] = json!(types[i % types.len()]);
            record["status"] = json!(statuses[i % statuses.len()]);
            standin.put_number(record);
        }
        let listed = api.get("/restapi/v1.0/account/~/phone-number?perPage=1000");
        assert_eq!(listed.status, 200);
        let records = listed.body["records"].as_array().unwrap();
        assert_eq!(records.len(), usage_types.len());
        assert!(records.iter().all(|r| r["id"].is_u64()), "int64 ids on the resource");
        assert_eq!(records[0]["paymentType"].is_null(), shape.optional_absent);
        assert_eq!(records[0]["standinAddedLater"].is_null(), !shape.extra_properties);
        let cc = api.get("/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber&usageType=DirectNumber&page=1&perPage=1&status=Normal");
        assert_eq!((cc.status, cc.body["paging"]["totalElements"].as_u64()), (200, Some(2)));
        let one = api.get("/restapi/v1.0/account/37439510/phone-number/1001");
        assert_eq!((one.status, &one.body["id"]), (200, &json!(1001)));
        let gone = api.get("/restapi/v1.0/account/~/phone-number/999");
        assert_eq!(
            (gone.status, &gone.body["errors"][0]["errorCode"]),
            (404, &json!("CMN-102"))
        );
        standin.assert_spec_held();
    }
}

#[test]
fn creation_refusals_carry_the_specs_status_code_and_message() {
    let standin = StandIn::start();
    let api = Api::new(&standin);
    let cases: [(&str, u16, &str); 13] = [
        ("SUB-505", 403, "Subscriptions limit exceeded"),
        (
            "SUB-406",
            403,
            "Not allowed subscribe for events to extensions of other account",
        ),
        (
            "SUB-527",
            403,
            "Not allowed subscribe for missed calls of another extension",
        ),
        (
            "CMN-408",
            403,
            "In order to call this API endpoint, application needs to have [ReadAccounts] permission",
        ),
        ("SUB-520", 400, "Validation Token is not returned"),
        ("SUB-521", 400, "WebHook is not reachable"),
        ("SUB-523", 400, "HTTPS is required"),
        ("SUB-525", 400, "WebHook server response is invalid"),
        ("OAU-232", 400, "Extension not found"),
        ("OAU-236", 400, "Extension is disabled or frozen"),
        ("CMN-301", 429, "Request rate exceeded"),
        ("CMN-302", 429, "Request rate exceeded"),
        ("CMN-201", 503, "Service Temporary Unavailable"),
    ];
    for (code, status, message) in cases {
        standin.fail_creations(code, 1);
        let refused = api.post(
            "/restapi/v1.0/subscription",
            Some(subscription_request("http://127.0.0.1:9/")),
        );
        assert_eq!(
            (refused.status, &refused.body["errorCode"], &refused.body["message"]),
            (status, &json!(code), &json!(message))
        );
        assert_eq!(refused.body["errors"][0]["errorCode"], code);
        let retry_after = (code == "CMN-301").then(|| "2".to_owned());
        assert_eq!(refused.retry_after, retry_after, "{code}");
        let permission = if code == "CMN-408" {
            json!("ReadAccounts")
        } else {
            Value::Null
        };
        assert_eq!(refused.body["errors"][0]["permissionName"], permission, "{code}");
    }
    assert!(standin.subscriptions().is_empty());
    assert!(standin.handshakes().is_empty(), "refused before any handshake");
    standin.assert_spec_held();
}

#[test]
fn a_refusal_lasts_as_many_creations_as_asked_and_the_limit_answers_sub_505() {
    let standin = StandIn::start();
    let api = Api::new(&standin);
    let webhook = FakeWebhook::start(Behavior::Echo);
    standin.fail_creations("CMN-201", 2);
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            api.post(
                "/restapi/v1.0/subscription",
                Some(subscription_request(&webhook.address)),
            )
            .status
        })
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    standin.limit_subscriptions(2);
    let second = api.post(
        "/restapi/v1.0/subscription",
        Some(subscription_request(&webhook.address)),
    );
    let third = api.post(
        "/restapi/v1.0/subscription",
        Some(subscription_request(&webhook.address)),
    );
    assert_eq!(second.status, 200);
    assert_eq!(
        (third.status, &third.body["errorCode"], &third.body["message"]),
        (403, &json!("SUB-505"), &json!("Subscriptions limit exceeded"))
    );
    assert_eq!(standin.subscriptions().len(), 2);
    standin.assert_spec_held();
}

#[test]
fn a_disabled_or_dropped_contact_center_filter_leaves_the_subscription_active() {
    let standin = StandIn::start();
    let api = Api::new(&standin);
    let disabled = standin.seed("http://127.0.0.1:9/a", TOKEN, Duration::from_secs(86_400));
    let dropped = standin.seed("http://127.0.0.1:9/b", TOKEN, Duration::from_secs(86_400));
    standin.disable_contact_center_filter(&disabled, "CMN-408");
    standin.drop_contact_center_filter(&dropped);
    let one = api.get(&format!("/restapi/v1.0/subscription/{disabled}")).body;
    assert_eq!(
        (&one["status"], &one["eventFilters"]),
        (&json!("Active"), &json!([CONTACT_CENTER_FILTER]))
    );
    assert_eq!(
        one["disabledFilters"],
        json!([{"filter": CONTACT_CENTER_FILTER, "reason": "CMN-408",
                "message": "Filter is disabled: in order to receive these events, application needs to have [ReadAccounts] permission (CMN-408)"}])
    );
    let other = api.get(&format!("/restapi/v1.0/subscription/{dropped}")).body;
    assert_eq!(
        (
            &other["status"],
            &other["eventFilters"],
            &other["deliveryMode"]["address"]
        ),
        (&json!("Active"), &json!([]), &json!("http://127.0.0.1:9/b"))
    );
    assert!(other.get("disabledFilters").is_none());
    standin.assert_spec_held();
}

#[test]
fn update_subscription_replaces_the_filters_and_lifetime_and_clears_disabled_filters() {
    let standin = StandIn::start();
    let api = Api::new(&standin);
    let id = standin.seed("http://127.0.0.1:9/hook", TOKEN, Duration::from_secs(600));
    standin.disable_contact_center_filter(&id, "SUB-412");
    let filters = json!([
        CONTACT_CENTER_FILTER,
        "/restapi/v1.0/subscription/~?threshold=86400&interval=3600"
    ]);
    let updated = api.put(
        &format!("/restapi/v1.0/subscription/{id}"),
        json!({"eventFilters": filters, "expiresIn": 7200, "deliveryMode": {"transportType": "WebHook", "address": "http://127.0.0.1:9/new"}}),
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        (
            &updated.body["id"],
            &updated.body["eventFilters"],
            &updated.body["status"]
        ),
        (&json!(id), &filters, &json!("Active"))
    );
    let expires_in = updated.body["expiresIn"].as_i64().unwrap();
    assert!((7190..=7200).contains(&expires_in), "{expires_in}");
    assert_eq!(updated.body["deliveryMode"]["address"], "http://127.0.0.1:9/new");
    assert!(updated.body.get("disabledFilters").is_none());
    let stored = standin.subscription(&id).unwrap();
    assert_eq!(
        (stored.expires_in, stored.address.as_str()),
        (7200, "http://127.0.0.1:9/new")
    );
    let missing = api.put("/restapi/v1.0/subscription/nope", json!({"eventFilters": filters}));
    assert_eq!((missing.status, &missing.body["errorCode"]), (404, &json!("CMN-102")));
    standin.assert_spec_held();
}

#[test]
fn a_record_without_id_is_within_the_spec_and_an_id_as_number_is_tolerated_only_there() {
    let standin = StandIn::start();
    let api = Api::new(&standin);
    let id = standin.seed("http://127.0.0.1:9/hook", TOKEN, Duration::from_secs(86_400));
    standin.malformed_record(Some(Malformed::WithoutId));
    let listed = api.get("/restapi/v1.0/subscription").body;
    let records = listed["records"].as_array().unwrap();
    assert_eq!((records.len(), &records[0]["id"]), (2, &json!(id)));
    assert!(records[1].get("id").is_none() && records[1]["deliveryMode"].is_object());
    standin.assert_spec_held();
    assert!(standin.tolerated().is_empty(), "no id breaks nothing in the spec");

    standin.malformed_record(Some(Malformed::IdAsNumber));
    let listed = api.get("/restapi/v1.0/subscription").body;
    assert_eq!(listed["records"][1]["id"], 4_200_000_001_u64);
    assert_eq!(
        named(&standin.tolerated()),
        vec![four(
            "listSubscriptions",
            "answer 200",
            "/records/1/id",
            "/properties/records/items/properties/id/type"
        )]
    );
    standin.assert_spec_held();
}
