//! Rotating the verification token with no refused and no missed delivery,
//! over the [`TokenStore`] and [`SubscriptionApi`] ports.
//!
//! The token store itself holds the rotation's progress, so a rerun after
//! an interruption at any step finishes the job:
//!
//! 1. A new token becomes current, the old one previous (both authenticate),
//!    the subscriptions delivering now are recorded as `retiring`, and the
//!    instant as `current_since`. Then a pause of the relay's re-read
//!    interval, counted from that instant: an instance that re-read the
//!    secret just before (a bad token) may re-read again when the first
//!    delivery with the new token arrives. A rerun after an interruption
//!    waits out what is left of it, however the first run ended.
//! 2. A subscription with the new token is created (RingCentral's handshake
//!    must pass) and recorded as the `successor`, or, on a rerun, the one
//!    recorded before is found.
//! 3. Once it is Active, every other subscription to the address is deleted:
//!    the retiring ones, and any created meanwhile (the guardian healing a
//!    dead subscription with the token it read before step 1, or an earlier
//!    run that stopped before recording its successor). While both deliver,
//!    each change arrives twice with different uuids; the inventory answers
//!    the second `duplicate` (same number, same state, same instant), so
//!    subscribers get it once.
//! 4. After another pause (deliveries already in flight from the old
//!    subscriptions), the previous token is dropped. Warm relay instances
//!    stop accepting it when they next re-read the secret: within their
//!    re-read interval.
//!
//! At every step, every subscription that can deliver carries a token the
//! store holds; `tests` checks that after every call.

use crate::http::REREAD_INTERVAL;
use crate::ringcentral::{RingCentralError, Subscription, SubscriptionApi, MAX_EXPIRES_IN};
use crate::token::{TokenSet, VerificationToken};
use crate::token_store::{TokenStore, TokenStoreError};
use std::time::Duration;
use time::OffsetDateTime;

/// The pauses' default: the relay's re-read interval, and one second more.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(61);

/// The rotation's time: the instant now, and pausing. The CLI reads the
/// system clock and sleeps; the tests move a clock of their own.
pub trait Clock {
    fn now(&self) -> OffsetDateTime;
    /// Pauses for `delay` before `operation` (which the CLI names).
    fn wait(&self, delay: Duration, operation: &str);
}

/// How long the rotation pauses and how patiently it waits for Active.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// From the instant the new token became current to the creation of
    /// the subscription that carries it, and again before dropping the
    /// previous one: at least the relay's re-read interval.
    pub settle: Duration,
    /// Between checks that the new subscription is Active.
    pub poll: Duration,
    pub polls: u32,
}

/// What the rotation did, one step at a time (the CLI prints each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Began { retiring: Vec<String> },
    Resumed { retiring: Vec<String> },
    Created { id: String },
    Found { id: String },
    Active { id: String },
    Deleted { id: String },
    AlreadyGone { id: String },
    Finished,
}

impl Step {
    pub fn line(&self) -> String {
        let list = |ids: &[String]| {
            if ids.is_empty() {
                "none".to_owned()
            } else {
                ids.join(", ")
            }
        };
        match self {
            Step::Began { retiring } => format!(
                "new token is current; the old one stays valid as previous; subscriptions to retire: {}",
                list(retiring)
            ),
            Step::Resumed { retiring } => format!(
                "resuming the rotation begun earlier; subscriptions to retire: {}",
                list(retiring)
            ),
            Step::Created { id } => format!("created subscription {id} with the new token"),
            Step::Found { id } => format!("found subscription {id}, created with the new token earlier"),
            Step::Active { id } => format!("subscription {id} is Active"),
            Step::Deleted { id } => format!("deleted subscription {id}"),
            Step::AlreadyGone { id } => format!("subscription {id} was already gone"),
            Step::Finished => format!(
                "previous token dropped: the rotation is complete; warm relay instances may still accept the old token for up to {} s, until they re-read the secret",
                REREAD_INTERVAL.as_secs()
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    Store(#[from] TokenStoreError),
    #[error("{0}; rerun rotate-token to finish the rotation")]
    RingCentral(#[from] RingCentralError),
    #[error("subscription {id} is {status}, not Active, after {polls} checks; rerun rotate-token to finish the rotation (both tokens stay valid meanwhile)")]
    NotActive { id: String, status: String, polls: u32 },
    #[error("subscription {id}, created with the new token, is gone; rerun rotate-token to create another")]
    Vanished { id: String },
}

/// Rotates, or finishes a rotation an earlier run began. `generate` makes
/// the new token (called only when a rotation begins).
pub async fn rotate(
    store: &impl TokenStore,
    api: &impl SubscriptionApi,
    address: &str,
    generate: impl FnOnce() -> VerificationToken,
    pace: Pace,
    clock: &dyn Clock,
    mut progress: impl FnMut(Step),
) -> Result<(), RotationError> {
    let mut tokens = store.read().await?;
    if tokens.rotating() {
        progress(Step::Resumed {
            retiring: tokens.retiring.clone(),
        });
    } else {
        let retiring = api.subscriptions_to(address)?.into_iter().map(|s| s.id).collect();
        tokens = TokenSet {
            previous: Some(tokens.current),
            current: generate(),
            retiring,
            successor: None,
            current_since: Some(clock.now()),
        };
        store.write(&tokens).await?;
        progress(Step::Began {
            retiring: tokens.retiring.clone(),
        });
    }
    let successor = successor(store, api, address, &mut tokens, pace.settle, clock, &mut progress).await?;
    let listed = await_active(api, address, &successor, pace, clock)?;
    progress(Step::Active { id: successor.clone() });
    let mut others = tokens.retiring.clone();
    for s in listed {
        if s.id != successor && !others.contains(&s.id) {
            others.push(s.id);
        }
    }
    for id in &others {
        match api.delete_subscription(id) {
            Ok(()) => progress(Step::Deleted { id: id.clone() }),
            Err(RingCentralError::NotFound(_)) => progress(Step::AlreadyGone { id: id.clone() }),
            Err(error) => return Err(error.into()),
        }
    }
    clock.wait(
        pace.settle,
        "dropping the previous token (deliveries in flight from the old subscriptions)",
    );
    let done = TokenSet {
        current_since: tokens.current_since,
        ..TokenSet::single(tokens.current)
    };
    store.write(&done).await?;
    progress(Step::Finished);
    Ok(())
}

/// The subscription with the new token: the one an earlier run created and
/// recorded, if RingCentral still has it, or a new one, recorded at once. A
/// subscription is never adopted for being there: the guardian may have
/// created it with the old token.
async fn successor(
    store: &impl TokenStore,
    api: &impl SubscriptionApi,
    address: &str,
    tokens: &mut TokenSet,
    settle: Duration,
    clock: &dyn Clock,
    progress: &mut impl FnMut(Step),
) -> Result<String, RotationError> {
    if let Some(recorded) = tokens.successor.clone() {
        if api.subscriptions_to(address)?.iter().any(|s| s.id == recorded) {
            progress(Step::Found { id: recorded.clone() });
            return Ok(recorded);
        }
    }
    let left = settle_left(tokens.current_since, settle, clock.now());
    if !left.is_zero() {
        clock.wait(
            left,
            "creating the new subscription (relay instances re-read the secret at most once a minute)",
        );
    }
    let created = api.create_subscription(address, &tokens.current, MAX_EXPIRES_IN)?;
    progress(Step::Created { id: created.id.clone() });
    tokens.successor = Some(created.id.clone());
    store.write(tokens).await?;
    Ok(created.id)
}

/// What is left at `now` of the pause that follows the new token becoming
/// current at `since`: a relay instance that re-read the secret just before
/// then may re-read again by the time the first delivery with the new token
/// arrives. Whatever ended an earlier run (an error, Ctrl-C, a closed
/// laptop), a rerun keeps what is left. An unknown instant (a secret
/// written before `currentSince` was) or a clock behind the one that wrote
/// it (another machine) costs at most the whole pause, never more.
fn settle_left(since: Option<OffsetDateTime>, settle: Duration, now: OffsetDateTime) -> Duration {
    let Some(since) = since else { return settle };
    let elapsed = Duration::try_from(now - since).unwrap_or(Duration::ZERO);
    settle.saturating_sub(elapsed)
}

/// Waits until `id` is Active; returns that listing of the address.
fn await_active(
    api: &impl SubscriptionApi,
    address: &str,
    id: &str,
    pace: Pace,
    clock: &dyn Clock,
) -> Result<Vec<Subscription>, RotationError> {
    let polls = pace.polls.max(1);
    let mut check = 1;
    loop {
        let listed = api.subscriptions_to(address)?;
        let status = match listed.iter().find(|s| s.id == id) {
            None => return Err(RotationError::Vanished { id: id.to_owned() }),
            Some(s) if s.is_active() => return Ok(listed),
            Some(s) => s.status.to_string(),
        };
        if check == polls {
            return Err(RotationError::NotActive {
                id: id.to_owned(),
                status,
                polls: check,
            });
        }
        clock.wait(pace.poll, "checking that the new subscription is Active");
        check += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ringcentral::{DeliveryMode, SubscriptionStatus};
    use crate::token_store::memory::MemoryTokens;
    use std::cell::{Cell, RefCell};
    use std::sync::Mutex;

    const ADDRESS: &str = "https://relay.example/webhook";

    fn token(value: &str) -> VerificationToken {
        VerificationToken::parse(value.into()).unwrap()
    }

    /// RingCentral's subscriptions, each with the token it delivers with; it
    /// fails the call numbered `fail_at`, and after every call records any
    /// deliverable subscription whose token the store does not hold (a 401).
    struct FakeRingCentral<'a> {
        store: &'a MemoryTokens,
        subscriptions: RefCell<Vec<(Subscription, String)>>,
        calls: Cell<usize>,
        fail_at: Cell<Option<usize>>,
        /// The new subscription reads as Suspended for this many listings.
        inactive_listings: Cell<u32>,
        /// The token store fails from the moment a subscription is created.
        fail_store_on_create: Cell<bool>,
        /// Before this call, a subscription with the old token appears.
        guardian_heals_before_call: Cell<Option<usize>>,
        /// A warm relay instance as the verifier keeps it: the tokens it
        /// holds, re-read on an unknown one at most once per re-read
        /// interval of `clock`'s time. Without it, every delivery sees the
        /// store as it is.
        instance: RefCell<Option<Instance<'a>>>,
        refused: RefCell<Vec<String>>,
    }

    struct Instance<'a> {
        clock: &'a Waits,
        held: TokenSet,
        last_reread: OffsetDateTime,
    }

    fn subscription(id: &str, status: SubscriptionStatus) -> Subscription {
        Subscription {
            id: id.into(),
            status,
            expiration_time: None,
            expires_in: None,
            event_filters: vec![],
            delivery_mode: DeliveryMode {
                transport_type: Some("WebHook".into()),
                address: Some(ADDRESS.into()),
            },
            blacklisted_data: None,
            disabled_filters: vec![],
            creation_time: None,
        }
    }

    impl<'a> FakeRingCentral<'a> {
        fn new(store: &'a MemoryTokens, existing: &[(&str, &str)]) -> Self {
            Self {
                store,
                subscriptions: RefCell::new(
                    existing
                        .iter()
                        .map(|(id, t)| (subscription(id, SubscriptionStatus::Active), t.to_string()))
                        .collect(),
                ),
                calls: Cell::new(0),
                fail_at: Cell::new(None),
                inactive_listings: Cell::new(0),
                fail_store_on_create: Cell::new(false),
                guardian_heals_before_call: Cell::new(None),
                instance: RefCell::new(None),
                refused: RefCell::new(Vec::new()),
            }
        }

        /// Deliveries go to a warm instance that read the store, and took
        /// its re-read turn, at `clock`'s time now.
        fn with_instance_reread_now(self, clock: &'a Waits) -> Self {
            *self.instance.borrow_mut() = Some(Instance {
                clock,
                held: self.store.current(),
                last_reread: clock.now(),
            });
            self
        }

        fn call(&self) -> Result<(), RingCentralError> {
            let n = self.calls.get();
            self.calls.set(n + 1);
            if self.guardian_heals_before_call.get() == Some(n) {
                self.subscriptions
                    .borrow_mut()
                    .push((subscription("sub-guardian", SubscriptionStatus::Active), "old".into()));
            }
            self.check();
            if self.fail_at.get() == Some(n) {
                return Err(RingCentralError::Transport {
                    server: "https://platform.ringcentral.example".into(),
                    operation: "a call",
                    detail: "connection reset".into(),
                });
            }
            Ok(())
        }

        /// What the relay would answer each subscription's delivery right now.
        fn check(&self) {
            let mut instance = self.instance.borrow_mut();
            for (s, t) in self.subscriptions.borrow().iter() {
                let accepted = match instance.as_mut() {
                    None => self.store.current().matches(t.as_bytes()),
                    Some(i) if i.held.matches(t.as_bytes()) => true,
                    Some(i) => {
                        let now = i.clock.now();
                        if now - i.last_reread >= crate::http::REREAD_INTERVAL {
                            i.held = self.store.current();
                            i.last_reread = now;
                        }
                        i.held.matches(t.as_bytes())
                    }
                };
                if !accepted {
                    self.refused.borrow_mut().push(s.id.clone());
                }
            }
        }

        fn tokens_delivering(&self) -> Vec<String> {
            self.subscriptions.borrow().iter().map(|(_, t)| t.clone()).collect()
        }
    }

    impl SubscriptionApi for FakeRingCentral<'_> {
        fn subscriptions_to(&self, _: &str) -> Result<Vec<Subscription>, RingCentralError> {
            self.call()?;
            let mut all: Vec<Subscription> = self.subscriptions.borrow().iter().map(|(s, _)| s.clone()).collect();
            if self.inactive_listings.get() > 0 {
                self.inactive_listings.set(self.inactive_listings.get() - 1);
                for s in all.iter_mut().skip(1) {
                    s.status = SubscriptionStatus::Other("Suspended".into());
                }
            }
            Ok(all)
        }
        fn create_subscription(
            &self,
            address: &str,
            token: &VerificationToken,
            _: u32,
        ) -> Result<Subscription, RingCentralError> {
            self.call()?;
            let id = format!("sub-{}", self.calls.get());
            let mut created = subscription(&id, SubscriptionStatus::Active);
            created.delivery_mode.address = Some(address.into());
            self.subscriptions
                .borrow_mut()
                .push((created.clone(), token.expose().to_owned()));
            if self.fail_store_on_create.get() {
                self.store.failing.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            Ok(created)
        }
        fn renew_subscription(&self, _: &str) -> Result<Subscription, RingCentralError> {
            unreachable!("a rotation renews nothing")
        }
        fn restore_filters(&self, _: &str, _: u32) -> Result<Subscription, RingCentralError> {
            unreachable!("a rotation puts no filters")
        }
        fn delete_subscription(&self, id: &str) -> Result<(), RingCentralError> {
            self.call()?;
            let mut all = self.subscriptions.borrow_mut();
            let before = all.len();
            all.retain(|(s, _)| s.id != id);
            if all.len() == before {
                return Err(RingCentralError::NotFound(id.into()));
            }
            Ok(())
        }
    }

    /// A clock that moves only when the rotation pauses: each pause is
    /// recorded and over at once.
    struct Waits {
        waits: Mutex<Vec<Duration>>,
        now: Mutex<OffsetDateTime>,
    }

    impl Default for Waits {
        fn default() -> Self {
            Self {
                waits: Mutex::new(Vec::new()),
                now: Mutex::new(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()),
            }
        }
    }

    impl Waits {
        fn waits(&self) -> Vec<Duration> {
            self.waits.lock().unwrap().clone()
        }

        fn pass(&self, time: Duration) {
            *self.now.lock().unwrap() += time;
        }
    }

    impl Clock for Waits {
        fn now(&self) -> OffsetDateTime {
            *self.now.lock().unwrap()
        }

        fn wait(&self, delay: Duration, _: &str) {
            self.waits.lock().unwrap().push(delay);
            self.pass(delay);
        }
    }

    const PACE: Pace = Pace {
        settle: DEFAULT_SETTLE,
        poll: Duration::from_secs(5),
        polls: 3,
    };

    async fn run(store: &MemoryTokens, api: &FakeRingCentral<'_>, new: &str) -> Result<Vec<Step>, RotationError> {
        let mut steps = Vec::new();
        rotate(
            store,
            api,
            ADDRESS,
            || token(new),
            PACE,
            &Waits::default(),
            |s| steps.push(s),
        )
        .await
        .map(|()| steps)
    }

    fn finished(store: &MemoryTokens, api: &FakeRingCentral<'_>, new: &str) {
        api.check();
        let tokens = store.current();
        assert_eq!(
            (tokens.current, tokens.previous, tokens.retiring, tokens.successor),
            (token(new), None, vec![], None)
        );
        assert_eq!(api.tokens_delivering(), [new], "one subscription, with the new token");
        assert!(api.refused.borrow().is_empty(), "refused: {:?}", api.refused.borrow());
    }

    #[tokio::test]
    async fn a_rotation_replaces_the_subscription_and_then_drops_the_old_token() {
        let store = MemoryTokens::new(TokenSet::single(token("old")));
        let api = FakeRingCentral::new(&store, &[("sub-old", "old")]);
        let steps = run(&store, &api, "new").await.unwrap();
        let lines: Vec<String> = steps.iter().map(Step::line).collect();
        assert_eq!(
            lines,
            [
                "new token is current; the old one stays valid as previous; subscriptions to retire: sub-old",
                "created subscription sub-2 with the new token",
                "subscription sub-2 is Active",
                "deleted subscription sub-old",
                "previous token dropped: the rotation is complete; warm relay instances may still accept the old token for up to 60 s, until they re-read the secret",
            ]
        );
        let writes = store.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), 3);
        assert_eq!(writes[0].current, token("new"));
        assert_eq!(writes[0].previous, Some(token("old")));
        assert_eq!(writes[0].retiring, ["sub-old"]);
        assert_eq!(writes[0].successor, None);
        assert!(writes[0].current_since.is_some(), "when the new token became current");
        assert_eq!(writes[1].successor.as_deref(), Some("sub-2"), "recorded once created");
        assert_eq!(writes[1].current_since, writes[0].current_since);
        finished(&store, &api, "new");
    }

    #[tokio::test]
    async fn interrupted_at_any_call_a_rerun_finishes_and_nothing_is_ever_refused() {
        // 4 RingCentral calls in an uninterrupted rotation: list, create, list, delete.
        for fail_at in 0..4 {
            let store = MemoryTokens::new(TokenSet::single(token("old")));
            let api = FakeRingCentral::new(&store, &[("sub-old", "old")]);
            api.fail_at.set(Some(fail_at));
            let first = run(&store, &api, "new").await;
            assert!(first.is_err(), "call {fail_at} failed, so the run did");
            let message = first.unwrap_err().to_string();
            assert!(
                message.ends_with("rerun rotate-token to finish the rotation"),
                "{message}"
            );
            api.fail_at.set(None);
            // A rerun generates no other token once the rotation has begun.
            let new = if fail_at == 0 { "new" } else { "unused" };
            run(&store, &api, new).await.unwrap();
            finished(&store, &api, "new");
        }
    }

    #[tokio::test]
    async fn a_failed_final_write_is_finished_by_a_rerun() {
        let store = MemoryTokens::new(TokenSet::single(token("old")));
        let api = FakeRingCentral::new(&store, &[("sub-old", "old")]);
        rotate(
            &store,
            &api,
            ADDRESS,
            || token("new"),
            PACE,
            &FailStoreOnSecondSettle(&store),
            |_| {},
        )
        .await
        .unwrap_err();
        assert!(store.current().rotating());
        store.failing.store(false, std::sync::atomic::Ordering::SeqCst);
        let steps = run(&store, &api, "unused").await.unwrap();
        assert!(steps.contains(&Step::Found { id: "sub-2".into() }), "{steps:?}");
        assert!(steps.contains(&Step::AlreadyGone { id: "sub-old".into() }), "{steps:?}");
        finished(&store, &api, "new");
    }

    /// Makes the store unreachable during the pause before the final write.
    struct FailStoreOnSecondSettle<'a>(&'a MemoryTokens);

    impl Clock for FailStoreOnSecondSettle<'_> {
        fn now(&self) -> OffsetDateTime {
            OffsetDateTime::UNIX_EPOCH
        }

        fn wait(&self, _: Duration, operation: &str) {
            if operation.starts_with("dropping") {
                self.0.failing.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    #[tokio::test]
    async fn it_waits_for_active_and_stops_with_both_tokens_valid_when_it_never_is() {
        let store = MemoryTokens::new(TokenSet::single(token("old")));
        let api = FakeRingCentral::new(&store, &[("sub-old", "old")]);
        api.inactive_listings.set(10);
        let error = run(&store, &api, "new").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "subscription sub-2 is Suspended, not Active, after 3 checks; rerun rotate-token to finish the rotation (both tokens stay valid meanwhile)"
        );
        assert!(store.current().rotating());
        assert_eq!(
            api.tokens_delivering(),
            ["old", "new"],
            "the old subscription still delivers"
        );
        api.inactive_listings.set(2);
        let waits = Waits::default();
        rotate(&store, &api, ADDRESS, || token("unused"), PACE, &waits, |_| {})
            .await
            .unwrap();
        assert_eq!(
            waits.waits(),
            [PACE.poll, PACE.settle],
            "one poll, then the pause before dropping"
        );
        finished(&store, &api, "new");
    }

    #[tokio::test]
    async fn a_subscription_the_guardian_creates_with_the_old_token_meanwhile_is_not_kept() {
        let store = MemoryTokens::new(TokenSet::single(token("old")));
        let api = FakeRingCentral::new(&store, &[("sub-old", "old")]);
        // The guardian read the old token just before the rotation began, and
        // heals a dead subscription with it after the first call.
        api.guardian_heals_before_call.set(Some(1));
        let steps = run(&store, &api, "new").await.unwrap();
        assert!(steps.contains(&Step::Created { id: "sub-2".into() }), "{steps:?}");
        assert!(
            steps.contains(&Step::Deleted {
                id: "sub-guardian".into()
            }),
            "{steps:?}"
        );
        finished(&store, &api, "new");
    }

    #[tokio::test]
    async fn a_subscription_created_but_not_recorded_is_deleted_by_the_rerun() {
        let store = MemoryTokens::new(TokenSet::single(token("old")));
        let api = FakeRingCentral::new(&store, &[("sub-old", "old")]);
        api.fail_store_on_create.set(true);
        let error = run(&store, &api, "new").await.unwrap_err();
        assert!(matches!(error, RotationError::Store(_)), "{error}");
        assert_eq!(api.tokens_delivering(), ["old", "new"]);
        store.failing.store(false, std::sync::atomic::Ordering::SeqCst);
        api.fail_store_on_create.set(false);
        let steps = run(&store, &api, "unused").await.unwrap();
        assert!(steps.contains(&Step::Deleted { id: "sub-2".into() }), "{steps:?}");
        finished(&store, &api, "new");
    }

    #[tokio::test]
    async fn a_rotation_waits_the_reread_interval_before_creating_the_subscription() {
        let store = MemoryTokens::new(TokenSet::single(token("old")));
        let api = FakeRingCentral::new(&store, &[]);
        let waits = Waits::default();
        rotate(&store, &api, ADDRESS, || token("new"), PACE, &waits, |_| {})
            .await
            .unwrap();
        assert_eq!(waits.waits(), [PACE.settle, PACE.settle]);
        assert!(
            DEFAULT_SETTLE > crate::http::REREAD_INTERVAL,
            "the CLI's default outlasts the relay's interval"
        );
        finished(&store, &api, "new");
    }

    /// Stops the run `after` into its first pause (Ctrl-C, a closed laptop):
    /// that much time passes, and RingCentral hears nothing more from it.
    struct StoppedDuringFirstPause<'a> {
        clock: &'a Waits,
        api: &'a FakeRingCentral<'a>,
        after: Duration,
    }

    impl Clock for StoppedDuringFirstPause<'_> {
        fn now(&self) -> OffsetDateTime {
            self.clock.now()
        }

        fn wait(&self, delay: Duration, operation: &str) {
            if operation.starts_with("creating") {
                self.clock.pass(self.after.min(delay));
                self.api.fail_at.set(Some(self.api.calls.get()));
            } else {
                self.clock.wait(delay, operation);
            }
        }
    }

    #[tokio::test]
    async fn a_rerun_after_a_stop_during_the_first_pause_waits_out_what_is_left_of_it() {
        let store = MemoryTokens::new(TokenSet::single(token("old")));
        let clock = Waits::default();
        // The worst case the pause is for: a warm instance re-read the secret
        // (after a bad token) just before the new token became current.
        let api = FakeRingCentral::new(&store, &[("sub-old", "old")]).with_instance_reread_now(&clock);
        let stopped = StoppedDuringFirstPause {
            clock: &clock,
            api: &api,
            after: Duration::from_secs(9),
        };
        rotate(&store, &api, ADDRESS, || token("new"), PACE, &stopped, |_| {})
            .await
            .unwrap_err();
        let since = store.current().current_since.expect("recorded with the new token");
        assert_eq!(clock.now() - since, Duration::from_secs(9));
        assert_eq!(api.tokens_delivering(), ["old"], "stopped before creating");

        // Run again at once.
        api.fail_at.set(None);
        let mut steps = Vec::new();
        rotate(
            &store,
            &api,
            ADDRESS,
            || token("unused"),
            PACE,
            &clock,
            |s| steps.push(s),
        )
        .await
        .unwrap();
        api.check();
        assert!(api.refused.borrow().is_empty(), "refused: {:?}", api.refused.borrow());
        assert_eq!(
            clock.waits(),
            [PACE.settle - Duration::from_secs(9), PACE.settle],
            "what was left of the first pause, then the pause before dropping"
        );
        assert!(steps.contains(&Step::Created { id: "sub-3".into() }), "{steps:?}");
        finished(&store, &api, "new");
    }

    #[tokio::test]
    async fn a_rerun_long_after_the_token_became_current_creates_at_once_and_an_unknown_instant_waits_it_all() {
        let rotating = |current_since| TokenSet {
            current: token("new"),
            previous: Some(token("old")),
            retiring: vec!["sub-old".into()],
            successor: None,
            current_since,
        };
        let clock = Waits::default();
        let store = MemoryTokens::new(rotating(Some(clock.now())));
        let api = FakeRingCentral::new(&store, &[("sub-old", "old")]);
        clock.pass(Duration::from_secs(3600));
        rotate(&store, &api, ADDRESS, || token("unused"), PACE, &clock, |_| {})
            .await
            .unwrap();
        assert_eq!(clock.waits(), [PACE.settle], "only the pause before dropping");
        finished(&store, &api, "new");

        // A secret from before `currentSince`, or a clock behind the one that
        // wrote it: the whole pause, and no more.
        for since in [None, Some(clock.now() + Duration::from_secs(3600))] {
            let clock = Waits::default();
            let store = MemoryTokens::new(rotating(since));
            let api = FakeRingCentral::new(&store, &[("sub-old", "old")]);
            rotate(&store, &api, ADDRESS, || token("unused"), PACE, &clock, |_| {})
                .await
                .unwrap();
            assert_eq!(clock.waits(), [PACE.settle, PACE.settle], "{since:?}");
            finished(&store, &api, "new");
        }
    }
}
