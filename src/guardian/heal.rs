//! What the guardian does about it, over the [`SubscriptionApi`] and
//! [`SubscriptionLease`] ports: inspect; recreate what is dead or missing
//! (the new subscription first, so a failed creation loses nothing, and
//! under the lease, so runs at the same moment create one between them);
//! delete all but the newest of several Active subscriptions outside a
//! rotation; renew what expires soon.

use super::health::{assess, Assessed, Duplicates, Inspection, State};
use super::LEASE_DURATION;
use crate::change::Timestamp;
use crate::finding::Finding;
use crate::inventory::{LeaseTaken, SubscriptionLease};
use crate::ringcentral::{ContactCenterFilter, RingCentralError, Subscription, SubscriptionApi, MAX_EXPIRES_IN};
use crate::token::{TokenSet, VerificationToken};
use std::time::Duration;
use time::OffsetDateTime;

/// `status`: this app's subscriptions to `address`, assessed.
pub fn inspect(
    api: &impl SubscriptionApi,
    address: &str,
    renew_within: Duration,
    now: OffsetDateTime,
) -> Result<Inspection, RingCentralError> {
    let subscriptions = api
        .subscriptions_to(address)?
        .into_iter()
        .map(|subscription| Assessed {
            state: assess(&subscription, renew_within, now),
            subscription,
        })
        .collect();
    Ok(Inspection {
        address: address.to_owned(),
        subscriptions,
    })
}

/// What came of creating a subscription in place of a dead or missing one.
enum Creation {
    Created(Subscription),
    /// Under the lease, RingCentral already listed an Active one: another
    /// run created it after this one looked.
    Meanwhile,
    /// Another run holds the lease: it is creating one.
    Deferred {
        holder: String,
        until: OffsetDateTime,
    },
    Failed(RingCentralError),
}

/// Creates the subscription under the lease. Once it is taken, RingCentral
/// is asked again (a run that held the lease before may have created one
/// since this run looked), one is created only if nothing Active delivers
/// yet, and the lease is given back. Without an inventory there is no
/// lease, and when the table fails the lease cannot be taken: it creates
/// anyway, since a missing subscription loses notifications and a
/// duplicate only repeats them (the next run deletes it).
async fn create_under_lease(
    api: &impl SubscriptionApi,
    lease: &impl SubscriptionLease,
    address: &str,
    verification_token: &VerificationToken,
) -> Creation {
    let now = OffsetDateTime::now_utc();
    let guarded = match lease.take(now, now + LEASE_DURATION).await {
        Ok(LeaseTaken::Taken) => true,
        Ok(LeaseTaken::Held { holder, until }) => return Creation::Deferred { holder, until },
        Ok(LeaseTaken::Unguarded) => false,
        Err(error) => {
            tracing::warn!("cannot take the subscription lease, creating the subscription without it: {error}");
            false
        }
    };
    let look_again = if guarded {
        match api.subscriptions_to(address) {
            Ok(listed) if listed.iter().any(Subscription::is_active) => Some(Creation::Meanwhile),
            Ok(_) => None,
            Err(error) => Some(Creation::Failed(error)),
        }
    } else {
        None
    };
    let creation =
        look_again.unwrap_or_else(
            || match api.create_subscription(address, verification_token, MAX_EXPIRES_IN) {
                Ok(new) => Creation::Created(new),
                Err(error) => Creation::Failed(error),
            },
        );
    if guarded {
        if let Err(error) = lease.release().await {
            tracing::warn!("cannot give the subscription lease back (it expires by itself): {error}");
        }
    }
    creation
}

/// Puts the relay's filters back on one subscription (`PUT`, which also
/// sets its lifetime), and says whether RingCentral now delivers them.
fn restore(api: &impl SubscriptionApi, assessed: &Assessed, address: &str) -> Finding {
    let id = &assessed.subscription.id;
    let failed = |error: String| Finding::RestoreFailed {
        subscription_id: id.clone(),
        address: address.to_owned(),
        error,
    };
    match api.restore_filters(id, MAX_EXPIRES_IN) {
        Ok(updated) => match updated.contact_center_filter() {
            ContactCenterFilter::Delivered if updated.is_active() => Finding::FiltersRestored {
                subscription_id: id.clone(),
                address: address.to_owned(),
            },
            ContactCenterFilter::Disabled(d) => failed(format!(
                "RingCentral still disables the Contact Center filter ({}: {})",
                d.code().unwrap_or("no code"),
                d.message.as_deref().unwrap_or("no message")
            )),
            _ => failed(format!(
                "RingCentral answered with status {} and event filters [{}]",
                updated.status,
                updated.event_filters.join(", ")
            )),
        },
        Err(error) => failed(error.to_string()),
    }
}

/// The CLI's `heal` after the operator fixed what disabled the Contact
/// Center filter (a permission, say): the filters are put again, so that
/// RingCentral checks them anew. The guardian never does this on its own:
/// until the cause is fixed it would only churn.
pub fn retry_disabled(api: &impl SubscriptionApi, inspection: &Inspection) -> Vec<Finding> {
    inspection
        .filters_disabled()
        .map(|a| restore(api, a, &inspection.address))
        .collect()
}

/// `heal`: first puts the Contact Center filter back on an Active
/// subscription that lost it. Then, when nothing Active delivers to the
/// address, creates a new subscription to it (under the lease), then
/// deletes the dead ones. The new one comes first, so a failed creation
/// (the handshake, say) loses nothing. When an Active one exists, or
/// another run created one meanwhile, only the dead ones are deleted; when
/// another run holds the lease, nothing is done. When RingCentral disabled
/// the filter of an Active one, nothing is created: a new subscription
/// would be disabled for the same reason (the `FilterDisabled` finding
/// tells the operator what to fix).
pub async fn heal(
    api: &impl SubscriptionApi,
    lease: &impl SubscriptionLease,
    inspection: &Inspection,
    verification_token: &VerificationToken,
) -> Vec<Finding> {
    let address = &inspection.address;
    let mut findings: Vec<Finding> = inspection.filters_missing().map(|a| restore(api, a, address)).collect();
    let dead: Vec<&Assessed> = inspection.dead().collect();
    let mut alive = inspection.alive() || findings.iter().any(|f| matches!(f, Finding::FiltersRestored { .. }));
    if !alive && inspection.filters_disabled().next().is_some() {
        return findings;
    }
    if !alive {
        match create_under_lease(api, lease, address, verification_token).await {
            Creation::Created(new) => findings.push(Finding::Healed {
                subscription_id: new.id.clone(),
                address: address.clone(),
                expiration_time: new.expiration().to_owned(),
                replaced: dead.iter().map(|a| a.subscription.id.clone()).collect(),
            }),
            Creation::Meanwhile => alive = true,
            Creation::Deferred { holder, until } => {
                findings.push(Finding::HealDeferred {
                    address: address.clone(),
                    holder,
                    until: Timestamp::at(until).as_str().to_owned(),
                });
                return findings;
            }
            Creation::Failed(error) => {
                findings.push(Finding::HealFailed {
                    address: address.clone(),
                    error: error.to_string(),
                    code: error.code().map(str::to_owned),
                });
                return findings;
            }
        }
    }
    for a in dead {
        let s = &a.subscription;
        match api.delete_subscription(&s.id) {
            // Already gone is as good as deleted.
            Ok(()) | Err(RingCentralError::NotFound(_)) => {
                if alive {
                    findings.push(Finding::Removed {
                        subscription_id: s.id.clone(),
                        address: address.clone(),
                        status: s.status.to_string(),
                    });
                }
            }
            Err(error) => findings.push(Finding::RemoveFailed {
                subscription_id: s.id.clone(),
                address: address.clone(),
                error: error.to_string(),
            }),
        }
    }
    findings
}

/// Deletes every duplicate, keeping the newest, as `rotate-token` retires
/// the old subscriptions; one already gone is as good as deleted.
pub fn retire_duplicates(api: &impl SubscriptionApi, address: &str, duplicates: &Duplicates<'_>) -> Vec<Finding> {
    let kept = &duplicates.kept.subscription.id;
    duplicates
        .others
        .iter()
        .map(|a| {
            let id = &a.subscription.id;
            match api.delete_subscription(id) {
                Ok(()) | Err(RingCentralError::NotFound(_)) => Finding::DuplicateRemoved {
                    subscription_id: id.clone(),
                    address: address.to_owned(),
                    kept: kept.clone(),
                },
                Err(error) => Finding::RemoveFailed {
                    subscription_id: id.clone(),
                    address: address.to_owned(),
                    error: error.to_string(),
                },
            }
        })
        .collect()
}

/// Renews every Active subscription that expires soon, but those in `skip`.
pub fn renew_expiring(api: &impl SubscriptionApi, inspection: &Inspection, skip: &[String]) -> Vec<Finding> {
    inspection
        .subscriptions
        .iter()
        .filter(|a| matches!(a.state, State::ExpiringSoon { .. }) && !skip.contains(&a.subscription.id))
        .map(|a| {
            let id = &a.subscription.id;
            match api.renew_subscription(id) {
                Ok(renewed) => Finding::Renewed {
                    subscription_id: id.clone(),
                    address: inspection.address.clone(),
                    expiration_time: renewed.expiration().to_owned(),
                },
                Err(error) => Finding::RenewFailed {
                    subscription_id: id.clone(),
                    address: inspection.address.clone(),
                    error: error.to_string(),
                },
            }
        })
        .collect()
}

/// One guardian run's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// At the end of the run an Active, not soon expiring subscription delivers to the address.
    pub healthy: bool,
    /// Subscriptions created in place of dead or missing ones, or whose
    /// lost Contact Center filter was put back: a gap closed, so the run reconciles.
    pub healed: u64,
    /// Active subscriptions found expiring within the threshold.
    pub expiring_soon: u64,
    /// The subscription that stands for the address at the end of the run
    /// ([`Inspection::current`]), as the account registry records it; none
    /// when RingCentral could not be read or lists none.
    pub subscription: Option<Subscription>,
}

impl Report {
    pub fn failed(address: &str, error: String) -> Self {
        Self {
            findings: vec![Finding::CheckFailed {
                address: address.to_owned(),
                error,
            }],
            healthy: false,
            healed: 0,
            expiring_soon: 0,
            subscription: None,
        }
    }
}

/// `status` + `heal` + duplicates + `renew`, then a second look to tell
/// whether it worked. A new subscription carries `tokens.current`; while
/// `tokens` say a rotation is under way, two Active subscriptions are the
/// rotation's own (its new one and the one it retires), not duplicates.
pub async fn check_heal_renew(
    api: &impl SubscriptionApi,
    lease: &impl SubscriptionLease,
    address: &str,
    renew_within: Duration,
    tokens: &TokenSet,
) -> Report {
    let inspection = match inspect(api, address, renew_within, OffsetDateTime::now_utc()) {
        Ok(inspection) => inspection,
        Err(error) => return Report::failed(address, error.to_string()),
    };
    let duplicates = if tokens.rotating() {
        None
    } else {
        inspection.duplicates()
    };
    let retired: Vec<String> = duplicates
        .iter()
        .flat_map(|d| d.others.iter().map(|a| a.subscription.id.clone()))
        .collect();
    let mut findings: Vec<Finding> = inspection
        .findings()
        .into_iter()
        // A duplicate about to go need not be renewed.
        .filter(|f| !matches!(f, Finding::ExpiringSoon { subscription_id, .. } if retired.contains(subscription_id)))
        .collect();
    if let Some(d) = &duplicates {
        findings.push(Finding::Duplicate {
            address: address.to_owned(),
            kept: d.kept.subscription.id.clone(),
            duplicates: retired.clone(),
        });
    }
    if findings.is_empty() {
        return Report {
            findings,
            healthy: true,
            healed: 0,
            expiring_soon: 0,
            subscription: inspection.current().cloned(),
        };
    }
    let expiring_soon = findings
        .iter()
        .filter(|f| matches!(f, Finding::ExpiringSoon { .. }))
        .count() as u64;
    let mut actions = heal(api, lease, &inspection, &tokens.current).await;
    if let Some(d) = &duplicates {
        actions.extend(retire_duplicates(api, address, d));
    }
    actions.extend(renew_expiring(api, &inspection, &retired));
    let healed = actions
        .iter()
        .filter(|f| matches!(f, Finding::Healed { .. } | Finding::FiltersRestored { .. }))
        .count() as u64;
    findings.extend(actions);
    let (healthy, subscription) = match inspect(api, address, renew_within, OffsetDateTime::now_utc()) {
        Ok(after) => (after.healthy(), after.current().cloned()),
        Err(error) => {
            findings.push(Finding::CheckFailed {
                address: address.to_owned(),
                error: error.to_string(),
            });
            (false, None)
        }
    };
    Report {
        findings,
        healthy,
        healed,
        expiring_soon,
        subscription,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::memory::{MemoryInventory, MemoryLease};
    use crate::ringcentral::{
        DeliveryMode, DisabledFilter, Subscription, SubscriptionStatus, CONTACT_CENTER_NUMBER_FILTER,
        RENEWAL_REMINDER_FILTER,
    };
    use std::cell::RefCell;

    const ADDRESS: &str = "https://relay.example/ringcentral/contact-center-numbers";
    const FAR: &str = "2036-11-25T10:00:00.000Z";

    /// RingCentral's subscription resource in memory, with a call log.
    #[derive(Default)]
    struct FakeRingCentral {
        subscriptions: RefCell<Vec<Subscription>>,
        calls: RefCell<Vec<String>>,
        create_fails: Option<RingCentralError>,
        next: RefCell<u32>,
        /// The operator added the permission: a `PUT` clears `disabledFilters`.
        permission_granted: RefCell<bool>,
    }

    fn subscription(id: &str, status: SubscriptionStatus, expires: &str) -> Subscription {
        Subscription {
            id: id.into(),
            status,
            expiration_time: Some(expires.into()),
            expires_in: None,
            event_filters: vec![CONTACT_CENTER_NUMBER_FILTER.into(), RENEWAL_REMINDER_FILTER.into()],
            delivery_mode: DeliveryMode {
                transport_type: Some("WebHook".into()),
                address: Some(ADDRESS.into()),
            },
            blacklisted_data: None,
            disabled_filters: vec![],
            creation_time: None,
        }
    }

    impl FakeRingCentral {
        fn with(subscriptions: Vec<Subscription>) -> Self {
            Self {
                subscriptions: RefCell::new(subscriptions),
                ..Self::default()
            }
        }
        fn calls(&self) -> Vec<String> {
            self.calls.borrow().clone()
        }
    }

    impl SubscriptionApi for FakeRingCentral {
        fn subscriptions_to(&self, address: &str) -> Result<Vec<Subscription>, RingCentralError> {
            self.calls.borrow_mut().push("list".into());
            let all = self.subscriptions.borrow();
            Ok(all.iter().filter(|s| s.address() == Some(address)).cloned().collect())
        }
        fn create_subscription(
            &self,
            address: &str,
            _token: &VerificationToken,
            expires_in: u32,
        ) -> Result<Subscription, RingCentralError> {
            self.calls.borrow_mut().push(format!("create {expires_in}"));
            if let Some(error) = &self.create_fails {
                return Err(error.clone());
            }
            *self.next.borrow_mut() += 1;
            let mut new = subscription(&format!("new-{}", self.next.borrow()), SubscriptionStatus::Active, FAR);
            new.delivery_mode.address = Some(address.into());
            self.subscriptions.borrow_mut().push(new.clone());
            Ok(new)
        }
        fn restore_filters(&self, id: &str, expires_in: u32) -> Result<Subscription, RingCentralError> {
            self.calls.borrow_mut().push(format!("put {id} {expires_in}"));
            let mut all = self.subscriptions.borrow_mut();
            let found = all
                .iter_mut()
                .find(|s| s.id == id)
                .ok_or(RingCentralError::NotFound(id.into()))?;
            found.event_filters = vec![CONTACT_CENTER_NUMBER_FILTER.into(), RENEWAL_REMINDER_FILTER.into()];
            if *self.permission_granted.borrow() {
                found.disabled_filters.clear();
            }
            found.expiration_time = Some(FAR.into());
            Ok(found.clone())
        }
        fn renew_subscription(&self, id: &str) -> Result<Subscription, RingCentralError> {
            self.calls.borrow_mut().push(format!("renew {id}"));
            let mut all = self.subscriptions.borrow_mut();
            let found = all
                .iter_mut()
                .find(|s| s.id == id)
                .ok_or(RingCentralError::NotFound(id.into()))?;
            found.expiration_time = Some(FAR.into());
            Ok(found.clone())
        }
        fn delete_subscription(&self, id: &str) -> Result<(), RingCentralError> {
            self.calls.borrow_mut().push(format!("delete {id}"));
            let mut all = self.subscriptions.borrow_mut();
            let before = all.len();
            all.retain(|s| s.id != id);
            if all.len() == before {
                return Err(RingCentralError::NotFound(id.into()));
            }
            Ok(())
        }
    }

    fn token() -> VerificationToken {
        VerificationToken::parse("t0ken".into()).unwrap()
    }

    fn tokens() -> TokenSet {
        TokenSet::single(token())
    }

    /// Created at `at` (RFC 3339).
    fn created(mut subscription: Subscription, at: &str) -> Subscription {
        subscription.creation_time = Some(at.into());
        subscription
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::parse("2026-11-28T10:00:00Z", &time::format_description::well_known::Rfc3339).unwrap()
    }

    const WITHIN: Duration = Duration::from_secs(3 * 86_400);

    fn deaf(id: &str) -> Subscription {
        let mut s = subscription(id, SubscriptionStatus::Active, FAR);
        s.disabled_filters = vec![DisabledFilter {
            filter: Some(CONTACT_CENTER_NUMBER_FILTER.into()),
            reason: Some("SUB-412".into()),
            error_code: None,
            message: Some("Permission [ReadAccounts] required".into()),
        }];
        s
    }

    #[tokio::test]
    async fn a_subscription_that_lost_the_filter_gets_it_back_and_counts_as_healed() {
        let mut lost = subscription("s1", SubscriptionStatus::Active, FAR);
        lost.event_filters = vec![RENEWAL_REMINDER_FILTER.into()];
        let api = FakeRingCentral::with(vec![lost]);
        let inventory = MemoryInventory::default();
        let report = check_heal_renew(&api, &inventory.lease("run"), ADDRESS, WITHIN, &tokens()).await;
        assert_eq!(api.calls(), ["list", "put s1 315360000", "list"], "no new subscription");
        assert_eq!(
            report.findings,
            [
                Finding::FilterMissing {
                    subscription_id: "s1".into(),
                    address: ADDRESS.into(),
                    event_filters: vec![RENEWAL_REMINDER_FILTER.into()],
                },
                Finding::FiltersRestored {
                    subscription_id: "s1".into(),
                    address: ADDRESS.into(),
                },
            ]
        );
        assert!(report.healthy);
        assert_eq!(report.healed, 1, "a gap closed: the run reconciles");
    }

    #[tokio::test]
    async fn a_disabled_filter_is_reported_and_nothing_is_recreated() {
        let api = FakeRingCentral::with(vec![deaf("s1")]);
        let inventory = MemoryInventory::default();
        let report = check_heal_renew(&api, &inventory.lease("run"), ADDRESS, WITHIN, &tokens()).await;
        assert_eq!(api.calls(), ["list", "list"], "no create, no delete, no put: no churn");
        assert_eq!(
            report.findings,
            [Finding::FilterDisabled {
                subscription_id: "s1".into(),
                address: ADDRESS.into(),
                error_code: Some("SUB-412".into()),
                message: Some("Permission [ReadAccounts] required".into()),
                missing_permission: true,
            }]
        );
        assert!(!report.healthy);
        assert_eq!(report.healed, 0);
        // A dead one beside it is not replaced either: the new one would be deaf too.
        let api = FakeRingCentral::with(vec![
            deaf("s1"),
            subscription("old", SubscriptionStatus::Blacklisted, FAR),
        ]);
        let report = check_heal_renew(&api, &inventory.lease("run"), ADDRESS, WITHIN, &tokens()).await;
        assert_eq!(api.calls(), ["list", "list"]);
        assert!(!report.healthy);
    }

    #[test]
    fn the_cli_retries_a_disabled_filter_once_the_cause_is_fixed() {
        let api = FakeRingCentral::with(vec![deaf("s1")]);
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        assert_eq!(
            retry_disabled(&api, &inspection),
            [Finding::RestoreFailed {
                subscription_id: "s1".into(),
                address: ADDRESS.into(),
                error:
                    "RingCentral still disables the Contact Center filter (SUB-412: Permission [ReadAccounts] required)"
                        .into(),
            }]
        );
        *api.permission_granted.borrow_mut() = true;
        assert_eq!(
            retry_disabled(&api, &inspection),
            [Finding::FiltersRestored {
                subscription_id: "s1".into(),
                address: ADDRESS.into(),
            }]
        );
    }

    #[tokio::test]
    async fn a_blacklisted_subscription_is_replaced_new_one_first() {
        let api = FakeRingCentral::with(vec![subscription("old", SubscriptionStatus::Blacklisted, FAR)]);
        let inventory = MemoryInventory::default();
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let findings = heal(&api, &inventory.lease("run"), &inspection, &token()).await;
        assert_eq!(
            api.calls(),
            ["list", "list", "create 315360000", "delete old"],
            "a second look under the lease"
        );
        let (holder, until) = inventory.lease_holder().unwrap();
        assert_eq!(
            (holder.as_str(), until),
            ("run", OffsetDateTime::UNIX_EPOCH),
            "given back"
        );
        assert_eq!(
            findings,
            [Finding::Healed {
                subscription_id: "new-1".into(),
                address: ADDRESS.into(),
                expiration_time: FAR.into(),
                replaced: vec!["old".into()],
            }]
        );
    }

    #[tokio::test]
    async fn a_failed_creation_keeps_the_dead_subscription() {
        let api = FakeRingCentral {
            create_fails: Some(RingCentralError::NotFound("x".into())),
            ..FakeRingCentral::with(vec![subscription("old", SubscriptionStatus::Blacklisted, FAR)])
        };
        let inventory = MemoryInventory::default();
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let findings = heal(&api, &inventory.lease("run"), &inspection, &token()).await;
        assert!(
            matches!(findings.as_slice(), [Finding::HealFailed { .. }]),
            "{findings:?}"
        );
        assert!(!api.calls().iter().any(|c| c.starts_with("delete")));
    }

    #[tokio::test]
    async fn with_a_live_subscription_only_the_dead_ones_go_and_gone_counts_as_deleted() {
        let api = FakeRingCentral::with(vec![
            subscription("live", SubscriptionStatus::Active, FAR),
            subscription("paused", SubscriptionStatus::Other("Suspended".into()), FAR),
        ]);
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        api.subscriptions.borrow_mut().retain(|s| s.id == "live"); // someone else deleted it meanwhile
        let inventory = MemoryInventory::default();
        let findings = heal(&api, &inventory.lease("run"), &inspection, &token()).await;
        assert_eq!(
            findings,
            [Finding::Removed {
                subscription_id: "paused".into(),
                address: ADDRESS.into(),
                status: "Suspended".into(),
            }]
        );
        assert!(!api.calls().iter().any(|c| c.starts_with("create")));
        assert_eq!(inventory.lease_holder(), None, "no lease needed");
    }

    #[tokio::test]
    async fn a_run_heals_a_missing_subscription_and_renews_an_expiring_one() {
        let api = FakeRingCentral::default();
        let report = check_heal_renew(&api, &None::<MemoryLease<'_>>, ADDRESS, WITHIN, &tokens()).await;
        assert!(report.healthy && report.healed == 1, "{report:?}");
        assert_eq!(
            report.findings[0],
            Finding::Missing {
                address: ADDRESS.into()
            }
        );
        assert!(matches!(report.findings[1], Finding::Healed { .. }));

        let soon = (OffsetDateTime::now_utc() + time::Duration::hours(2))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let api = FakeRingCentral::with(vec![subscription("s", SubscriptionStatus::Active, &soon)]);
        let report = check_heal_renew(&api, &None::<MemoryLease<'_>>, ADDRESS, WITHIN, &tokens()).await;
        assert_eq!((report.healthy, report.healed, report.expiring_soon), (true, 0, 1));
        assert!(matches!(report.findings[1], Finding::Renewed { .. }), "{report:?}");
        assert!(api.calls().contains(&"renew s".to_owned()));
    }

    #[tokio::test]
    async fn a_healthy_subscription_means_one_look_and_no_findings() {
        let api = FakeRingCentral::with(vec![subscription("s", SubscriptionStatus::Active, FAR)]);
        let report = check_heal_renew(&api, &None::<MemoryLease<'_>>, ADDRESS, WITHIN, &tokens()).await;
        assert_eq!((report.healthy, report.findings.len()), (true, 0));
        assert_eq!(api.calls(), ["list"]);
    }

    #[tokio::test]
    async fn a_run_that_looked_before_another_created_one_creates_none_of_its_own() {
        let api = FakeRingCentral::default();
        let inventory = MemoryInventory::default();
        // Both runs find nothing at the same moment.
        let first = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let second = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let created = heal(&api, &inventory.lease("first"), &first, &token()).await;
        assert!(matches!(created.as_slice(), [Finding::Healed { .. }]), "{created:?}");
        let left = heal(&api, &inventory.lease("second"), &second, &token()).await;
        assert_eq!(left, [], "the first one's subscription delivers");
        assert_eq!(api.subscriptions.borrow().len(), 1, "one subscription");
        assert_eq!(api.calls().iter().filter(|c| c.starts_with("create")).count(), 1);
    }

    #[tokio::test]
    async fn while_another_run_holds_the_lease_a_run_creates_nothing_and_says_who() {
        let api = FakeRingCentral::with(vec![subscription("old", SubscriptionStatus::Blacklisted, FAR)]);
        let inventory = MemoryInventory::default();
        let until = OffsetDateTime::now_utc() + LEASE_DURATION;
        let taken = inventory
            .lease("heal 1")
            .take(OffsetDateTime::now_utc(), until)
            .await
            .unwrap();
        assert_eq!(taken, LeaseTaken::Taken);
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let findings = heal(&api, &inventory.lease("guardian 2"), &inspection, &token()).await;
        assert_eq!(
            findings,
            [Finding::HealDeferred {
                address: ADDRESS.into(),
                holder: "heal 1".into(),
                until: Timestamp::at(until).as_str().to_owned(),
            }]
        );
        assert_eq!(api.calls(), ["list"], "nothing created, the dead one kept");
        assert_eq!(inventory.lease_holder().unwrap().0, "heal 1", "still theirs");
    }

    #[tokio::test]
    async fn a_lease_left_by_a_crashed_run_expires_and_a_failing_table_does_not_stop_the_heal() {
        let api = FakeRingCentral::default();
        let inventory = MemoryInventory::default();
        let past = OffsetDateTime::now_utc() - time::Duration::minutes(1);
        inventory
            .lease("crashed")
            .take(past - LEASE_DURATION, past)
            .await
            .unwrap();
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let findings = heal(&api, &inventory.lease("next"), &inspection, &token()).await;
        assert!(matches!(findings.as_slice(), [Finding::Healed { .. }]), "{findings:?}");

        let api = FakeRingCentral::default();
        let down = MemoryInventory::failing();
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let findings = heal(&api, &down.lease("run"), &inspection, &token()).await;
        assert!(matches!(findings.as_slice(), [Finding::Healed { .. }]), "{findings:?}");
    }

    #[tokio::test]
    async fn two_active_subscriptions_outside_a_rotation_converge_to_the_newest() {
        let api = FakeRingCentral::with(vec![
            created(
                subscription("newer", SubscriptionStatus::Active, FAR),
                "2026-11-28T10:00:00.080Z",
            ),
            created(
                subscription("older", SubscriptionStatus::Active, FAR),
                "2026-11-28T10:00:00.010Z",
            ),
        ]);
        let report = check_heal_renew(&api, &None::<MemoryLease<'_>>, ADDRESS, WITHIN, &tokens()).await;
        assert_eq!(
            report.findings,
            [
                Finding::Duplicate {
                    address: ADDRESS.into(),
                    kept: "newer".into(),
                    duplicates: vec!["older".into()],
                },
                Finding::DuplicateRemoved {
                    subscription_id: "older".into(),
                    address: ADDRESS.into(),
                    kept: "newer".into(),
                },
            ]
        );
        assert!(report.healthy);
        assert_eq!(api.calls(), ["list", "delete older", "list"]);
        let left: Vec<String> = api.subscriptions.borrow().iter().map(|s| s.id.clone()).collect();
        assert_eq!(left, ["newer"]);
        let again = check_heal_renew(&api, &None::<MemoryLease<'_>>, ADDRESS, WITHIN, &tokens()).await;
        assert_eq!(
            (again.healthy, again.findings.len()),
            (true, 0),
            "one subscription: healthy"
        );
    }

    #[tokio::test]
    async fn a_duplicate_expiring_soon_is_deleted_not_renewed() {
        let soon = (OffsetDateTime::now_utc() + time::Duration::hours(2))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let api = FakeRingCentral::with(vec![
            created(
                subscription("older", SubscriptionStatus::Active, &soon),
                "2026-11-28T10:00:00Z",
            ),
            created(
                subscription("newer", SubscriptionStatus::Active, FAR),
                "2026-11-28T11:00:00Z",
            ),
        ]);
        let report = check_heal_renew(&api, &None::<MemoryLease<'_>>, ADDRESS, WITHIN, &tokens()).await;
        let kinds: Vec<&str> = report.findings.iter().map(Finding::kind).collect();
        assert_eq!(kinds, ["Duplicate", "DuplicateRemoved"]);
        assert_eq!(report.expiring_soon, 0);
        assert!(!api.calls().iter().any(|c| c.starts_with("renew")), "{:?}", api.calls());
    }

    #[tokio::test]
    async fn during_a_rotation_its_two_active_subscriptions_are_left_alone() {
        let api = FakeRingCentral::with(vec![
            created(
                subscription("retiring", SubscriptionStatus::Active, FAR),
                "2026-11-28T10:00:00Z",
            ),
            created(
                subscription("successor", SubscriptionStatus::Active, FAR),
                "2026-11-28T10:01:01Z",
            ),
        ]);
        let rotating = TokenSet {
            previous: Some(VerificationToken::parse("older".into()).unwrap()),
            retiring: vec!["retiring".into()],
            successor: Some("successor".into()),
            ..tokens()
        };
        let report = check_heal_renew(&api, &None::<MemoryLease<'_>>, ADDRESS, WITHIN, &rotating).await;
        assert_eq!((report.healthy, report.findings.len()), (true, 0), "{report:?}");
        assert_eq!(api.calls(), ["list"]);
    }
}
