//! Reconciliation of many RingCentral accounts in one stack: the inventory
//! table on moto (with the template's `byAccount` index), the stand-in
//! serving the default account and two registered ones, each signing in with
//! its own JWT. A registered account's run publishes its corrections only,
//! each carrying its account id; a number that moves from one account to
//! another is told `Deleted` for the one and `Created` for the other, once.

use crate::inventory::inventory_table;
use crate::support::ringcentral_standin::phone_numbers::{record, record_in};
use crate::support::ringcentral_standin::*;
use crate::support::*;
use cc_number_relay::change::AccountId;
use cc_number_relay::config::Reconciliation;
use cc_number_relay::reconcile::{Mode, Report};
use cc_number_relay::registry::Tenant;
use cc_number_relay::ringcentral::{Client, Credentials, Sleep};
use cc_number_relay::runtime::reconcile::{run, Options};
use std::collections::BTreeSet;
use std::time::Duration;

const CC: &str = "ContactCenterNumber";
const A: &str = "111111";
const B: &str = "222222";

struct Setup {
    aws: Aws,
    topology: Topology,
    standin: StandIn,
    config: Reconciliation,
}

impl Setup {
    async fn new() -> Setup {
        let aws = Aws::moto().await;
        let topology = Topology::create(&aws, false).await;
        let mut env = topology.env();
        env.push(("INVENTORY_TABLE", inventory_table(&aws).await));
        let config =
            Reconciliation::from_lookup(&|name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
                .unwrap();
        let standin = StandIn::start();
        standin.add_account(A);
        standin.add_account(B);
        Setup {
            aws,
            topology,
            standin,
            config,
        }
    }

    /// One account's reconciliation, as the guardian runs it: signed in
    /// with that account's JWT (the default account's for `None`).
    async fn reconcile(&self, account: Option<&str>) -> Report {
        let credentials = match account {
            Some(id) => self.standin.account(id).credentials().env(&self.standin),
            None => self.standin.env(),
        };
        let lookup = |name: &str| credentials.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        let client = Client::new(
            Credentials::from_lookup(&lookup).unwrap(),
            Duration::ZERO,
            Box::new(Sleep),
        )
        .unwrap();
        let options = Options {
            mode: Mode::Correct,
            dry_run: false,
            to: None,
            page_interval: Duration::ZERO,
            who: "reconcile_accounts test",
            tenant: match account {
                Some(id) => Tenant::Registered(AccountId::parse(id).unwrap()),
                None => Tenant::Default,
            },
            registered: BTreeSet::from([AccountId::parse(A).unwrap(), AccountId::parse(B).unwrap()]),
        };
        run(&self.aws.sdk, &self.config, &client, options, |_| {})
            .await
            .unwrap()
    }

    /// Every message on the three subscriber queues: event type, number, account.
    async fn received(&self) -> Vec<(&'static str, String, String)> {
        let mut all = Vec::new();
        for kind in EVENT_TYPES {
            for m in drain_now(&self.aws, self.topology.subscriber_of(kind)).await {
                let change = m.json();
                assert_eq!(m.attributes["origin"], "reconciliation");
                let id = change["phoneNumber"]["id"].as_str().unwrap().to_owned();
                all.push((kind, id, change["accountId"].as_str().unwrap_or("none").to_owned()));
            }
        }
        all.sort();
        all
    }

    /// Each account's first run: its numbers as the starting state, quietly.
    async fn baselines(&self) {
        for (account, numbers) in [(None, 1), (Some(A), 2), (Some(B), 1)] {
            let report = self.reconcile(account).await;
            assert_eq!(
                (report.baseline_taken, report.baselined),
                (true, numbers),
                "{account:?}"
            );
        }
        assert_eq!(self.received().await, []);
    }
}

fn owned(kind: &'static str, id: &str, account: &str) -> (&'static str, String, String) {
    (kind, id.to_owned(), account.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_account_publishes_only_its_own_corrections_with_its_id() {
    let s = Setup::new().await;
    s.standin.put_number(record(1001, "+12025550101", CC));
    let (a, b) = (s.standin.account(A), s.standin.account(B));
    a.put_number(record_in(A, 2001, "+12025550201", CC));
    a.put_number(record_in(A, 2002, "+12025550202", CC));
    b.put_number(record_in(B, 3001, "+12025550301", CC));
    s.baselines().await;

    // RingCentral changes numbers of every account and tells nobody.
    s.standin.put_number(record(1002, "+12025550102", CC));
    a.remove_number(2001);
    let mut changed = record_in(A, 2002, "+12025550202", CC);
    changed["location"] = "Arlington, VA".into();
    a.put_number(changed);
    a.put_number(record_in(A, 2003, "+12025550203", CC));
    b.put_number(record_in(B, 3002, "+12025550302", CC));

    let report = s.reconcile(Some(A)).await;
    assert_eq!((report.numbers, report.looked_up, report.published_total()), (2, 1, 3));
    assert_eq!(
        s.received().await,
        [
            owned("Created", "2003", A),
            owned("Deleted", "2001", A),
            owned("Updated", "2002", A)
        ]
    );
    s.reconcile(Some(B)).await;
    assert_eq!(s.received().await, [owned("Created", "3002", B)]);
    s.reconcile(None).await;
    assert_eq!(s.received().await, [owned("Created", "1002", DEFAULT_ACCOUNT_ID)]);
    for account in [None, Some(A), Some(B)] {
        assert_eq!(s.reconcile(account).await.published_total(), 0, "{account:?}");
    }
    assert_eq!(s.received().await, []);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_moved_between_accounts_is_told_deleted_for_one_and_created_for_the_other_once() {
    let s = Setup::new().await;
    s.standin.put_number(record(1001, "+12025550101", CC));
    let (a, b) = (s.standin.account(A), s.standin.account(B));
    a.put_number(record_in(A, 2001, "+12025550201", CC));
    a.put_number(record_in(A, 2002, "+12025550202", CC));
    b.put_number(record_in(B, 3001, "+12025550301", CC));
    s.baselines().await;

    // 3001 moves from B to A; A reconciles first.
    b.remove_number(3001);
    a.put_number(record_in(A, 3001, "+12025550301", CC));
    let report = s.reconcile(Some(A)).await;
    assert_eq!(report.ported, 1);
    assert_eq!(
        s.received().await,
        [owned("Created", "3001", A), owned("Deleted", "3001", B)]
    );
    for account in [Some(B), Some(A), None] {
        assert_eq!(s.reconcile(account).await.published_total(), 0, "{account:?}");
    }

    // 1001 moves from the default account to B; the default account reconciles first.
    s.standin.account(DEFAULT_ACCOUNT_ID).remove_number(1001);
    b.put_number(record_in(B, 1001, "+12025550101", CC));
    assert_eq!(s.reconcile(None).await.published_total(), 1);
    assert_eq!(s.received().await, [owned("Deleted", "1001", DEFAULT_ACCOUNT_ID)]);
    assert_eq!(s.reconcile(Some(B)).await.published_total(), 1);
    assert_eq!(s.received().await, [owned("Created", "1001", B)]);
    for account in [None, Some(A), Some(B)] {
        assert_eq!(s.reconcile(account).await.published_total(), 0, "{account:?}");
    }
    assert_eq!(s.received().await, []);
}
