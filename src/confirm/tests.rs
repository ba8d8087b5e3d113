use super::*;
use crate::change::{ContactCenterProvider, EventType, NotificationId, PhoneNumber, SchemaVersion, E164};
use crate::inventory::memory::MemoryInventory;
use crate::parked::PublishFailure;
use crate::reconcile::correction_id;
use crate::sink::recording::RecordingSink;
use std::cell::RefCell;

const CC: &str = "ContactCenterNumber";
/// The batch is read at 10:01; the webhook's Updated occurred at 10:00.
const OBSERVED: &str = "2026-11-28T10:01:00.000Z";
const WEBHOOK_AT: &str = "2026-11-28T10:00:00.000Z";

fn state(id: &str, usage: &str) -> NumberState {
    NumberState {
        account_id: None,
        phone_number: PhoneNumber {
            id: PhoneNumberId::parse(id).unwrap(),
            e164: E164::parse(format!("+1555000{id}")).unwrap(),
            uri: None,
            payment_type: Some("Local".into()),
            location: None,
            kind: Some("VoiceFax".into()),
            usage_type: Some(usage.into()),
            status: Some("Normal".into()),
        },
        contact_center_provider: Some(ContactCenterProvider {
            id: Some("1".into()),
            name: Some("P".into()),
        }),
    }
}

/// An `Updated` as the relay published it from a webhook.
fn webhook(id: &str, usage: &str, uuid: &str) -> Change {
    let s = state(id, usage);
    Change {
        schema_version: SchemaVersion,
        change_type: EventType::Updated,
        notification_id: NotificationId::parse(uuid).unwrap(),
        occurred_at: Timestamp::parse(WEBHOOK_AT).unwrap(),
        account_id: None,
        subscription_id: Some("sub-1".into()),
        owner_id: None,
        phone_number: s.phone_number,
        contact_center_provider: s.contact_center_provider,
    }
}

fn item(message_id: &str, change: &Change) -> Item {
    Item {
        message_id: message_id.into(),
        body: change.to_json(),
    }
}

/// RingCentral's get by id in memory: a number's state, gone, or an error; every call counted.
#[derive(Default)]
struct FakeNumbers {
    numbers: BTreeMap<String, Result<Option<NumberState>, RingCentralError>>,
    lookups: RefCell<Vec<String>>,
}

impl FakeNumbers {
    fn with(mut self, id: &str, answer: Result<Option<NumberState>, RingCentralError>) -> Self {
        self.numbers.insert(id.into(), answer);
        self
    }
}

impl PhoneNumbersApi for FakeNumbers {
    fn contact_center_numbers(&self, _: &mut dyn FnMut(u32, usize)) -> Result<Listing, RingCentralError> {
        unreachable!("confirmation never lists")
    }
    fn number(&self, id: &PhoneNumberId) -> Result<Option<NumberState>, RingCentralError> {
        self.lookups.borrow_mut().push(id.to_string());
        self.numbers.get(id.as_str()).cloned().unwrap_or(Ok(None))
    }
}

/// The relay's side: the webhook's change published and recorded.
async fn told_by_webhook(inventory: &MemoryInventory, change: &Change) {
    inventory
        .record(&Told {
            change: change.clone(),
            origin: Origin::Webhook,
        })
        .await
        .unwrap();
}

async fn run(api: &FakeNumbers, inventory: &MemoryInventory, sink: &RecordingSink, items: &[Item]) -> Report {
    let confirmer = Confirmer { api, inventory, sink };
    confirmer
        .run(items, Timestamp::parse(OBSERVED).unwrap().instant())
        .await
}

fn rate_limited() -> RingCentralError {
    RingCentralError::RateLimited {
        retry_after: 60,
        budget: 0,
        detail: "CMN-301".into(),
        hint: "wait".into(),
    }
}

#[tokio::test]
async fn a_number_reassigned_away_gets_an_updated_with_its_current_usage_type() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    told_by_webhook(&inventory, &change).await;
    let api = FakeNumbers::default().with("1", Ok(Some(state("1", "DirectNumber"))));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;

    let expected = Change {
        schema_version: SchemaVersion,
        change_type: EventType::Updated,
        notification_id: correction_id(Origin::Reconciliation, EventType::Updated, &state("1", "DirectNumber")),
        occurred_at: Timestamp::parse(OBSERVED).unwrap(),
        account_id: None,
        subscription_id: None,
        owner_id: None,
        phone_number: state("1", "DirectNumber").phone_number,
        contact_center_provider: state("1", "DirectNumber").contact_center_provider,
    };
    assert_eq!(
        sink.deliveries(),
        [(expected.clone(), Delivery::fresh(Origin::Reconciliation))]
    );
    assert_eq!(
        inventory.get("1"),
        Some(Told {
            change: expected,
            origin: Origin::Reconciliation
        })
    );
    assert_eq!(report.verdicts["1"], Verdict::Corrected(Kind::ReassignedAway));
    assert!(report.failed.is_empty());
    assert_eq!(
        report.line(),
        "confirm summary: 1 messages, 1 numbers, 1 looked up, confirmed 0, corrected 1 \
         (Updated (reassigned away): 1), superseded by newer notifications 0, undecodable 0, failed messages 0"
    );
}

#[tokio::test]
async fn a_number_still_in_contact_center_as_told_is_confirmed_and_nothing_is_published() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    told_by_webhook(&inventory, &change).await;
    let api = FakeNumbers::default().with("1", Ok(Some(state("1", CC))));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;
    assert!(sink.published().is_empty());
    assert_eq!(report.verdicts["1"], Verdict::Confirmed);
    assert_eq!(
        inventory.get("1").unwrap().change,
        change,
        "the inventory is left alone"
    );
}

#[tokio::test]
async fn an_updated_that_named_the_new_usage_type_is_confirmed_as_it_is() {
    // The other reading of RingCentral's documents: the webhook already said where it went.
    let change = webhook("1", "DirectNumber", "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    told_by_webhook(&inventory, &change).await;
    let api = FakeNumbers::default().with("1", Ok(Some(state("1", "DirectNumber"))));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;
    assert!(sink.published().is_empty());
    assert_eq!(report.verdicts["1"], Verdict::Confirmed);
}

#[tokio::test]
async fn a_number_ringcentral_no_longer_has_gets_a_deleted_with_the_last_known_fields() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    told_by_webhook(&inventory, &change).await;
    let api = FakeNumbers::default().with("1", Ok(None));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;
    let published = sink.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].change_type, EventType::Deleted);
    assert_eq!(published[0].phone_number, change.phone_number);
    assert_eq!(
        published[0].notification_id,
        correction_id(Origin::Reconciliation, EventType::Deleted, &state("1", CC))
    );
    assert_eq!(report.verdicts["1"], Verdict::Corrected(Kind::Deleted));
    assert!(inventory.get("1").unwrap().deleted());
}

#[tokio::test]
async fn different_fields_get_an_updated_with_ringcentrals_state() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    told_by_webhook(&inventory, &change).await;
    let mut now = state("1", CC);
    now.phone_number.location = Some("Arlington, VA".into());
    let api = FakeNumbers::default().with("1", Ok(Some(now)));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;
    let published = sink.published();
    assert_eq!(
        (published[0].change_type, published[0].phone_number.location.as_deref()),
        (EventType::Updated, Some("Arlington, VA"))
    );
    assert_eq!(report.verdicts["1"], Verdict::Corrected(Kind::Updated));
}

#[tokio::test]
async fn a_newer_notification_in_the_inventory_wins() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let mut newer = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000002");
    newer.occurred_at = Timestamp::parse(OBSERVED).unwrap();
    told_by_webhook(&inventory, &newer).await;
    let api = FakeNumbers::default().with("1", Ok(Some(state("1", "DirectNumber"))));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;
    assert!(sink.published().is_empty());
    assert_eq!(report.verdicts["1"], Verdict::Superseded);
    assert_eq!(inventory.get("1").unwrap().change, newer);
    assert!(report.failed.is_empty(), "nothing to retry");
}

#[tokio::test]
async fn without_an_inventory_record_the_change_itself_is_what_subscribers_were_told() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let api = FakeNumbers::default().with("1", Ok(Some(state("1", "DirectNumber"))));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;
    assert_eq!(report.verdicts["1"], Verdict::Corrected(Kind::ReassignedAway));
    assert_eq!(
        sink.published()[0].phone_number.usage_type.as_deref(),
        Some("DirectNumber")
    );
}

#[tokio::test]
async fn a_ringcentral_error_fails_that_numbers_messages_only() {
    let (one, two) = (
        webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001"),
        webhook("2", CC, "aaaaaaaa-0000-4000-8000-000000000002"),
    );
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let error = RingCentralError::Api {
        status: 503,
        operation: "reading a phone number",
        detail: "down".into(),
    };
    let api = FakeNumbers::default()
        .with("1", Err(error.clone()))
        .with("2", Ok(Some(state("2", CC))));
    let report = run(&api, &inventory, &sink, &[item("m1", &one), item("m2", &two)]).await;
    assert_eq!(report.failed, ["m1"]);
    assert_eq!(report.verdicts["1"], Verdict::Failed(error.to_string()));
    assert_eq!(report.verdicts["2"], Verdict::Confirmed);
}

#[tokio::test]
async fn after_a_rate_limit_the_rest_of_the_batch_is_not_looked_up() {
    let changes: Vec<Change> = ["1", "2", "3"]
        .iter()
        .map(|id| webhook(id, CC, &format!("aaaaaaaa-0000-4000-8000-00000000000{id}")))
        .collect();
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let api = FakeNumbers::default()
        .with("1", Ok(Some(state("1", CC))))
        .with("2", Err(rate_limited()))
        .with("3", Ok(Some(state("3", CC))));
    let items: Vec<Item> = changes
        .iter()
        .enumerate()
        .map(|(n, c)| item(&format!("m{}", n + 1), c))
        .collect();
    let report = run(&api, &inventory, &sink, &items).await;
    assert_eq!(*api.lookups.borrow(), ["1", "2"]);
    assert_eq!(report.failed, ["m2", "m3"]);
    assert_eq!(report.looked_up, 2);
    assert!(matches!(&report.verdicts["3"], Verdict::Failed(e) if e.starts_with("not looked up: rate limited: ")));
}

#[tokio::test]
async fn duplicates_in_a_batch_cost_one_lookup_and_share_the_verdict() {
    let first = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let mut later = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000002");
    later.occurred_at = Timestamp::parse("2026-11-28T10:00:30.000Z").unwrap();
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let api = FakeNumbers::default().with("1", Err(rate_limited()));
    let items = [item("m1", &first), item("m2", &later), item("m3", &first)];
    let report = run(&api, &inventory, &sink, &items).await;
    assert_eq!(*api.lookups.borrow(), ["1"]);
    assert_eq!(report.failed, ["m1", "m2", "m3"]);

    let api = FakeNumbers::default().with("1", Ok(Some(state("1", "DirectNumber"))));
    let report = run(&api, &inventory, &sink, &items).await;
    assert_eq!(*api.lookups.borrow(), ["1"]);
    assert_eq!(sink.published().len(), 1, "one correction for the number");
    assert!(report.failed.is_empty());
}

#[tokio::test]
async fn a_body_that_is_no_change_is_retried_and_the_rest_goes_on() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::default(), RecordingSink::default());
    let api = FakeNumbers::default().with("1", Ok(Some(state("1", CC))));
    let junk = Item {
        message_id: "m0".into(),
        body: r#"{"schemaVersion":1}"#.into(),
    };
    let report = run(&api, &inventory, &sink, &[junk, item("m1", &change)]).await;
    assert_eq!(report.failed, ["m0"]);
    assert_eq!(
        report.undecodable,
        [("m0".to_owned(), "$.changeType: is required".to_owned())]
    );
    assert_eq!(report.verdicts["1"], Verdict::Confirmed);
}

#[tokio::test]
async fn a_failed_publish_is_retried_and_nothing_is_recorded() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let inventory = MemoryInventory::default();
    told_by_webhook(&inventory, &change).await;
    let sink = RecordingSink::default().failing_publish(PublishFailure {
        topic: "updated".into(),
        code: "Throttling".into(),
        message: String::new(),
        request_id: None,
    });
    let api = FakeNumbers::default().with("1", Ok(Some(state("1", "DirectNumber"))));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;
    assert_eq!(report.failed, ["m1"]);
    assert_eq!(inventory.get("1").unwrap().change, change);
}

#[tokio::test]
async fn a_failing_inventory_fails_the_message() {
    let change = webhook("1", CC, "aaaaaaaa-0000-4000-8000-000000000001");
    let (inventory, sink) = (MemoryInventory::failing(), RecordingSink::default());
    let api = FakeNumbers::default().with("1", Ok(Some(state("1", "DirectNumber"))));
    let report = run(&api, &inventory, &sink, &[item("m1", &change)]).await;
    assert_eq!(report.failed, ["m1"]);
    assert!(sink.published().is_empty());
}
