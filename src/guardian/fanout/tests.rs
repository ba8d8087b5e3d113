use super::*;
use crate::alarm::{Alarm, AlarmError};
use crate::change::{AccountId, Timestamp};
use crate::finding::Finding;
use crate::guardian::Report;
use crate::registry::memory::MemoryRegistry;
use crate::registry::{Account, AccountSummary, SubscriptionRecord, Tenant};
use crate::ringcentral::{Secret, Subscription, SubscriptionStatus};
use crate::token::{TokenSet, VerificationToken};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

const ADDRESS: &str = "https://relay.example/hook";

fn id(text: &str) -> AccountId {
    AccountId::parse(text).unwrap()
}

fn account(text: &str, last_finding: Option<&str>) -> Account {
    Account {
        summary: AccountSummary {
            account_id: id(text),
            address: ADDRESS.into(),
            added_at: Timestamp::parse("2026-01-01T00:00:00.000Z").unwrap(),
            subscription: None,
            last_checked_at: None,
            last_reconciled_at: None,
            last_finding: last_finding.map(str::to_owned),
        },
        jwt: Secret::new(format!("jwt-of-{text}")),
        tokens: TokenSet::single(VerificationToken::parse(format!("token-of-{text}-0123456789")).unwrap()),
    }
}

fn job(tenant: Tenant, reconcile: bool) -> Job {
    Job { tenant, reconcile }
}

#[test]
fn a_job_reads_back_what_it_wrote() {
    let registered = job(Tenant::Registered(id("37439510")), true);
    assert_eq!(registered.body(), r#"{"account":"37439510","reconcile":true}"#);
    assert_eq!(Job::parse(&registered.body()), Ok(registered));
    let default = job(Tenant::Default, false);
    assert_eq!(default.body(), r#"{"account":"default","reconcile":false}"#);
    assert_eq!(Job::parse(r#"{"account":"default"}"#), Ok(default));
}

#[test]
fn a_message_that_is_no_job_says_what_a_job_is() {
    let error = Job::parse(r#"{"account":"~"}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"not a guardian job (account "~" must be 1 to 32 digits): expected {"account": "<account id, digits>" or "default", "reconcile": true or false}"#
    );
    assert!(Job::parse("{}")
        .unwrap_err()
        .to_string()
        .starts_with("not a guardian job (missing field `account`"));
}

#[test]
fn a_tick_plans_the_default_account_first_then_every_registered_one() {
    let accounts: Vec<AccountSummary> = ["11", "22"].iter().map(|a| account(a, None).summary).collect();
    assert_eq!(
        plan(&accounts, true, true),
        vec![
            job(Tenant::Default, true),
            job(Tenant::Registered(id("11")), true),
            job(Tenant::Registered(id("22")), true),
        ]
    );
    assert_eq!(
        plan(&accounts, false, false),
        vec![
            job(Tenant::Registered(id("11")), false),
            job(Tenant::Registered(id("22")), false)
        ]
    );
    assert_eq!(plan(&[], true, false), vec![job(Tenant::Default, false)]);
}

/// SQS in memory: each call's entries, refusals by entry id for a number
/// of calls, whole calls that fail, and a backlog.
#[derive(Default)]
struct FakeQueue {
    calls: Mutex<Vec<Vec<Entry>>>,
    /// Entry id → calls that still refuse it.
    refusing: Mutex<BTreeMap<String, u32>>,
    failing_calls: Mutex<u32>,
    backlog: Mutex<Option<u64>>,
    /// Every entry a call took, in order.
    accepted: Mutex<Vec<Entry>>,
}

impl FakeQueue {
    fn sent_bodies(&self) -> Vec<String> {
        self.accepted.lock().unwrap().iter().map(|e| e.body.clone()).collect()
    }
}

impl JobQueue for FakeQueue {
    async fn send_batch(&self, entries: &[Entry]) -> Result<Vec<Rejected>, QueueError> {
        assert!(entries.len() <= BATCH_SIZE, "{} entries in one call", entries.len());
        self.calls.lock().unwrap().push(entries.to_vec());
        {
            let mut failing = self.failing_calls.lock().unwrap();
            if *failing > 0 {
                *failing -= 1;
                return Err(QueueError {
                    operation: "SendMessageBatch",
                    detail: "unreachable (test)".into(),
                });
            }
        }
        let mut refusing = self.refusing.lock().unwrap();
        let mut rejected = Vec::new();
        for entry in entries {
            if let Some(left) = refusing.get_mut(&entry.id) {
                if *left > 0 {
                    *left -= 1;
                    rejected.push(Rejected {
                        id: entry.id.clone(),
                        reason: "ThrottlingException".into(),
                    });
                }
            }
        }
        let mut accepted = self.accepted.lock().unwrap();
        accepted.extend(
            entries
                .iter()
                .filter(|e| !rejected.iter().any(|r| r.id == e.id))
                .cloned(),
        );
        Ok(rejected)
    }

    async fn backlog(&self) -> Result<u64, QueueError> {
        self.backlog.lock().unwrap().ok_or(QueueError {
            operation: "GetQueueAttributes",
            detail: "unreachable (test)".into(),
        })
    }
}

fn queue_with_backlog(backlog: u64) -> FakeQueue {
    let queue = FakeQueue::default();
    *queue.backlog.lock().unwrap() = Some(backlog);
    queue
}

/// The alarm topic in memory.
#[derive(Default)]
struct FakeAlarm {
    published: Mutex<Vec<(Tenant, Vec<&'static str>)>>,
    digests: Mutex<Vec<Vec<String>>>,
    failing: AtomicBool,
}

impl FakeAlarm {
    fn reachable(&self, total: usize) -> Result<(), AlarmError> {
        match self.failing.load(Ordering::SeqCst) {
            true => Err(AlarmError {
                failed: total,
                total,
                detail: "unreachable (test)".into(),
            }),
            false => Ok(()),
        }
    }
}

impl Alarm for FakeAlarm {
    async fn publish(&self, tenant: &Tenant, findings: &[Finding]) -> Result<(), AlarmError> {
        self.reachable(findings.len())?;
        let kinds = findings.iter().map(Finding::kind).collect();
        self.published.lock().unwrap().push((tenant.clone(), kinds));
        Ok(())
    }

    async fn accounts_in_trouble(&self, accounts: &[AccountSummary]) -> Result<(), AlarmError> {
        self.reachable(1)?;
        let ids = accounts.iter().map(|a| a.account_id.to_string()).collect();
        self.digests.lock().unwrap().push(ids);
        Ok(())
    }
}

#[tokio::test]
async fn jobs_go_ten_to_a_call() {
    let queue = FakeQueue::default();
    let jobs: Vec<Job> = (1..=23)
        .map(|n| job(Tenant::Registered(id(&n.to_string())), false))
        .collect();
    let mut progress = Vec::new();
    let enqueued = enqueue(&queue, &jobs, |sent, total| progress.push((sent, total))).await;
    assert_eq!(
        enqueued,
        Enqueued {
            sent: 23,
            calls: 3,
            failed: vec![]
        }
    );
    let sizes: Vec<usize> = queue.calls.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 3]);
    assert_eq!(progress, [(10, 23), (20, 23), (23, 23)]);
    let expected: Vec<String> = jobs.iter().map(Job::body).collect();
    assert_eq!(queue.sent_bodies(), expected);
}

#[tokio::test]
async fn a_refused_entry_is_sent_again_alone_and_one_refused_every_time_is_reported() {
    let queue = FakeQueue::default();
    queue
        .refusing
        .lock()
        .unwrap()
        .extend([("job-1".to_owned(), 1), ("job-2".to_owned(), 9)]);
    let jobs: Vec<Job> = ["11", "22", "33"]
        .iter()
        .map(|a| job(Tenant::Registered(id(a)), false))
        .collect();
    let enqueued = enqueue(&queue, &jobs, |_, _| {}).await;
    assert_eq!(enqueued.sent, 2);
    assert_eq!(enqueued.calls, 3);
    assert_eq!(
        enqueued.failed,
        vec![(jobs[2].clone(), "ThrottlingException".to_owned())]
    );
    let ids: Vec<Vec<String>> = queue
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.iter().map(|e| e.id.clone()).collect())
        .collect();
    assert_eq!(
        ids,
        [vec!["job-0", "job-1", "job-2"], vec!["job-1", "job-2"], vec!["job-2"]]
    );
}

#[tokio::test]
async fn a_failed_call_is_tried_again_and_never_dropped_silently() {
    let queue = FakeQueue::default();
    *queue.failing_calls.lock().unwrap() = 2;
    let jobs = vec![job(Tenant::Default, false)];
    let enqueued = enqueue(&queue, &jobs, |_, _| {}).await;
    assert_eq!((enqueued.sent, enqueued.calls, enqueued.failed.len()), (1, 3, 0));

    *queue.failing_calls.lock().unwrap() = 3;
    let enqueued = enqueue(&queue, &jobs, |_, _| {}).await;
    assert_eq!(enqueued.sent, 0);
    assert_eq!(
        enqueued.failed,
        vec![(
            jobs[0].clone(),
            "the guardian queue's SendMessageBatch failed: unreachable (test)".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_tick_queues_every_account_and_the_reconciliation_tick_names_those_in_trouble() {
    let registry = MemoryRegistry::with([
        account("11", None),
        account("22", Some("Blacklisted: subscription s1 is Blacklisted")),
    ]);
    let (queue, alarm) = (queue_with_backlog(0), FakeAlarm::default());
    let scheduled = schedule(&registry, &queue, &alarm, true, false, |_, _| {})
        .await
        .unwrap();
    assert_eq!(scheduled.listed, 2);
    assert_eq!(scheduled.enqueued.sent, 3);
    let trouble: Vec<&str> = scheduled.in_trouble.iter().map(|a| a.account_id.as_str()).collect();
    assert_eq!(trouble, ["22"]);
    assert!(
        alarm.digests.lock().unwrap().is_empty(),
        "only the reconciliation tick sends the digest"
    );
    assert_eq!(
        queue.sent_bodies(),
        [
            r#"{"account":"default","reconcile":false}"#,
            r#"{"account":"11","reconcile":false}"#,
            r#"{"account":"22","reconcile":false}"#
        ]
    );

    let queue = queue_with_backlog(0);
    let scheduled = schedule(&registry, &queue, &alarm, false, true, |_, _| {})
        .await
        .unwrap();
    assert_eq!(scheduled.enqueued.sent, 2);
    assert!(scheduled.digest_failed.is_none());
    assert_eq!(*alarm.digests.lock().unwrap(), vec![vec!["22".to_owned()]]);
}

#[tokio::test]
async fn a_tick_queues_nothing_while_an_earlier_ticks_jobs_wait_but_the_reconciliation_tick_does() {
    let registry = MemoryRegistry::with([account("11", None)]);
    let alarm = FakeAlarm::default();
    let queue = queue_with_backlog(7);
    let scheduled = schedule(&registry, &queue, &alarm, true, false, |_, _| {})
        .await
        .unwrap();
    assert_eq!(scheduled.skipped_for_backlog, Some(7));
    assert!(queue.calls.lock().unwrap().is_empty());

    let scheduled = schedule(&registry, &queue, &alarm, true, true, |_, _| {})
        .await
        .unwrap();
    assert_eq!(scheduled.skipped_for_backlog, None);
    assert_eq!(scheduled.enqueued.sent, 2);

    // The backlog unknown: queued anyway.
    let queue = FakeQueue::default();
    let scheduled = schedule(&registry, &queue, &alarm, true, false, |_, _| {})
        .await
        .unwrap();
    assert_eq!(scheduled.enqueued.sent, 2);
}

#[tokio::test]
async fn a_registry_that_cannot_list_fails_the_tick() {
    let registry = MemoryRegistry::default();
    registry.failing.store(true, Ordering::SeqCst);
    let error = schedule(
        &registry,
        &queue_with_backlog(0),
        &FakeAlarm::default(),
        true,
        false,
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot list the registered accounts: the account registry's list failed: unreachable (test)"
    );
}

fn subscription(id: &str, status: SubscriptionStatus) -> Subscription {
    Subscription {
        id: id.into(),
        status,
        expiration_time: Some("2036-01-01T00:00:00.000Z".into()),
        expires_in: None,
        event_filters: vec![],
        delivery_mode: Default::default(),
        blacklisted_data: None,
        disabled_filters: vec![],
        creation_time: None,
    }
}

fn healthy(findings: Vec<Finding>, healed: u64) -> Checked {
    Checked {
        report: Report {
            findings,
            healthy: true,
            healed,
            expiring_soon: 0,
            subscription: Some(subscription("sub-new", SubscriptionStatus::Active)),
        },
        reconciled: false,
    }
}

fn revoked() -> Checked {
    Checked {
        report: Report::failed(ADDRESS, "RingCentral refused the JWT (OAU-251)".into()),
        reconciled: false,
    }
}

/// The runtime's check in memory: what each account's check comes to.
#[derive(Default)]
struct FakeCheck {
    answers: BTreeMap<String, Result<Checked, Unavailable>>,
    asked: Mutex<Vec<(String, bool)>>,
}

impl AccountCheck for FakeCheck {
    async fn check(&self, target: Target<'_>, reconcile: bool) -> Result<Checked, Unavailable> {
        let label = match target {
            Target::Default => "default".to_owned(),
            Target::Registered(a) => a.summary.account_id.to_string(),
        };
        self.asked.lock().unwrap().push((label.clone(), reconcile));
        self.answers
            .get(&label)
            .cloned()
            .unwrap_or_else(|| Ok(healthy(vec![], 0)))
    }
}

fn items(bodies: &[&str]) -> Vec<Item> {
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| Item {
            message_id: format!("m{i}"),
            body: body.to_string(),
        })
        .collect()
}

const NOW: &str = "2026-11-27T12:00:00.000Z";

fn now() -> OffsetDateTime {
    Timestamp::parse(NOW).unwrap().instant()
}

fn plenty() -> Duration {
    Duration::from_secs(300)
}

fn room(job: &Job) -> Duration {
    Duration::from_secs(if job.reconcile { 120 } else { 30 })
}

async fn work(registry: &MemoryRegistry, check: &FakeCheck, alarm: &FakeAlarm, bodies: &[&str]) -> Worked {
    let worker = Worker {
        registry,
        check,
        alarm,
        time_left: &plenty,
        room,
    };
    worker.run(&items(bodies), now).await
}

#[tokio::test]
async fn one_accounts_revoked_credential_is_its_finding_and_holds_up_no_other() {
    let registry = MemoryRegistry::with([account("11", None), account("22", None), account("33", None)]);
    let healed = vec![
        Finding::Blacklisted {
            subscription_id: "sub-old".into(),
            address: ADDRESS.into(),
            reason: None,
            blacklisted_at: None,
        },
        Finding::Healed {
            subscription_id: "sub-new".into(),
            address: ADDRESS.into(),
            expiration_time: "2036-01-01T00:00:00.000Z".into(),
            replaced: vec!["sub-old".into()],
        },
    ];
    let check = FakeCheck {
        answers: [
            ("11".to_owned(), Ok(healed_then_reconciled(healed))),
            ("22".to_owned(), Ok(revoked())),
        ]
        .into(),
        ..FakeCheck::default()
    };
    let alarm = FakeAlarm::default();
    let worked = work(
        &registry,
        &check,
        &alarm,
        &[
            r#"{"account":"11","reconcile":true}"#,
            r#"{"account":"22","reconcile":false}"#,
            r#"{"account":"33","reconcile":false}"#,
        ],
    )
    .await;
    assert_eq!(
        worked.failed(),
        Vec::<String>::new(),
        "an account's own trouble fails no item"
    );
    assert_eq!(
        (worked.checked().count(), worked.unhealthy(), worked.healed()),
        (3, 1, 1)
    );
    assert_eq!(
        *check.asked.lock().unwrap(),
        [
            ("11".to_owned(), true),
            ("22".to_owned(), false),
            ("33".to_owned(), false)
        ]
    );
    assert_eq!(
        *alarm.published.lock().unwrap(),
        [
            (Tenant::Registered(id("11")), vec!["Blacklisted", "Healed"]),
            (Tenant::Registered(id("22")), vec!["CheckFailed"]),
            (Tenant::Registered(id("33")), vec![]),
        ]
    );
    let healed = registry.account(&id("11")).unwrap().summary;
    assert_eq!(healed.last_finding, None, "healed is no trouble");
    assert_eq!(healed.last_checked_at.as_ref().map(Timestamp::as_str), Some(NOW));
    assert_eq!(healed.last_reconciled_at.as_ref().map(Timestamp::as_str), Some(NOW));
    assert_eq!(
        healed.subscription,
        Some(SubscriptionRecord {
            id: "sub-new".into(),
            status: "Active".into(),
            expires_at: Some(Timestamp::parse("2036-01-01T00:00:00.000Z").unwrap()),
        })
    );
    let revoked = registry.account(&id("22")).unwrap().summary;
    assert_eq!(
        revoked.last_finding.as_deref(),
        Some(
            format!(
                "CheckFailed: could not check the subscriptions to {ADDRESS}: RingCentral refused the JWT (OAU-251)"
            )
            .as_str()
        )
    );
    assert_eq!(revoked.subscription, None);
    assert_eq!(revoked.last_reconciled_at, None);
    assert_eq!(registry.account(&id("33")).unwrap().summary.last_finding, None);
}

fn healed_then_reconciled(findings: Vec<Finding>) -> Checked {
    Checked {
        reconciled: true,
        ..healthy(findings, 1)
    }
}

#[tokio::test]
async fn only_what_a_retry_can_fix_fails_an_item() {
    let registry = MemoryRegistry::with([account("11", None), account("22", None)]);
    let check = FakeCheck {
        answers: [(
            "22".to_owned(),
            Err(Unavailable("cannot read the app's credentials: AccessDenied".into())),
        )]
        .into(),
        ..FakeCheck::default()
    };
    let alarm = FakeAlarm::default();
    let worked = work(
        &registry,
        &check,
        &alarm,
        &[
            r#"{"account":"11"}"#,
            r#"{"account":"22"}"#,
            r#"{"account":"99"}"#,
            "not json",
        ],
    )
    .await;
    assert_eq!(worked.failed(), ["m1", "m3"]);
    assert!(matches!(&worked.outcomes[2].1, ItemOutcome::NotRegistered(a) if a.as_str() == "99"));
    assert_eq!(
        registry.account(&id("22")).unwrap().summary.last_checked_at,
        None,
        "nothing recorded of a check that did not run"
    );

    // The alarm topic unreachable: every checked account comes back.
    alarm.failing.store(true, Ordering::SeqCst);
    let worked = work(
        &registry,
        &check,
        &alarm,
        &[r#"{"account":"11"}"#, r#"{"account":"default"}"#],
    )
    .await;
    assert_eq!(worked.failed(), ["m0", "m1"]);

    // The registry unreachable: the same.
    alarm.failing.store(false, Ordering::SeqCst);
    registry.failing.store(true, Ordering::SeqCst);
    let worked = work(
        &registry,
        &check,
        &alarm,
        &[r#"{"account":"11"}"#, r#"{"account":"default"}"#],
    )
    .await;
    assert_eq!(worked.failed(), ["m0"], "the default account needs no registry");
}

#[tokio::test]
async fn a_job_the_invocation_has_no_time_left_for_goes_back_unstarted() {
    let registry = MemoryRegistry::with([account("11", None)]);
    let (check, alarm) = (FakeCheck::default(), FakeAlarm::default());
    let little = || Duration::from_secs(60);
    let worker = Worker {
        registry: &registry,
        check: &check,
        alarm: &alarm,
        time_left: &little,
        room,
    };
    let worked = worker
        .run(
            &items(&[
                r#"{"account":"11","reconcile":false}"#,
                r#"{"account":"11","reconcile":true}"#,
            ]),
            now,
        )
        .await;
    assert_eq!(worked.failed(), ["m1"]);
    assert_eq!(*check.asked.lock().unwrap(), [("11".to_owned(), false)]);
}

#[test]
fn the_last_finding_is_what_still_stands() {
    let failed = |f: Vec<Finding>, healthy: bool| Report {
        findings: f,
        healthy,
        healed: 0,
        expiring_soon: 0,
        subscription: None,
    };
    let blacklisted = Finding::Blacklisted {
        subscription_id: "s1".into(),
        address: ADDRESS.into(),
        reason: None,
        blacklisted_at: None,
    };
    let heal_failed = Finding::HealFailed {
        address: ADDRESS.into(),
        error: "SUB-505".into(),
        code: Some("SUB-505".into()),
    };
    let renewed = Finding::Renewed {
        subscription_id: "s1".into(),
        address: ADDRESS.into(),
        expiration_time: "x".into(),
    };
    let reconcile_failed = Finding::ReconcileFailed { error: "x".into() };
    assert_eq!(
        trouble(&failed(vec![blacklisted.clone(), heal_failed.clone()], false)),
        Some(&heal_failed)
    );
    assert_eq!(trouble(&failed(vec![blacklisted.clone()], false)), Some(&blacklisted));
    assert_eq!(trouble(&failed(vec![renewed.clone()], true)), None);
    assert_eq!(
        trouble(&failed(vec![renewed, reconcile_failed.clone()], true)),
        Some(&reconcile_failed)
    );
}
