//! What the guardian does about it, over the [`SubscriptionApi`] port:
//! inspect, recreate what is dead or missing (the new subscription first,
//! so a failed creation loses nothing), renew what expires soon.

use super::health::{assess, Assessed, Inspection, State};
use crate::finding::Finding;
use crate::ringcentral::{RingCentralError, SubscriptionApi, MAX_EXPIRES_IN};
use crate::token::VerificationToken;
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

/// `heal`: when nothing Active delivers to the address, creates a new
/// subscription to it, then deletes the dead ones. The new one comes first,
/// so a failed creation (the handshake, say) loses nothing. When an Active
/// one exists, only the dead ones are deleted.
pub fn heal(
    api: &impl SubscriptionApi,
    inspection: &Inspection,
    verification_token: &VerificationToken,
) -> Vec<Finding> {
    let address = &inspection.address;
    let mut findings = Vec::new();
    let dead: Vec<&Assessed> = inspection.dead().collect();
    if !inspection.alive() {
        match api.create_subscription(address, verification_token, MAX_EXPIRES_IN) {
            Ok(new) => findings.push(Finding::Healed {
                subscription_id: new.id.clone(),
                address: address.clone(),
                expiration_time: new.expiration().to_owned(),
                replaced: dead.iter().map(|a| a.subscription.id.clone()).collect(),
            }),
            Err(error) => {
                findings.push(Finding::HealFailed {
                    address: address.clone(),
                    error: error.to_string(),
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
                if inspection.alive() {
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

/// Renews every Active subscription that expires soon.
pub fn renew_expiring(api: &impl SubscriptionApi, inspection: &Inspection) -> Vec<Finding> {
    inspection
        .subscriptions
        .iter()
        .filter(|a| matches!(a.state, State::ExpiringSoon { .. }))
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
    /// Subscriptions created in place of dead or missing ones.
    pub healed: u64,
    /// Active subscriptions found expiring within the threshold.
    pub expiring_soon: u64,
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
        }
    }
}

/// `status` + `heal` + `renew`, then a second look to tell whether it worked.
pub fn check_heal_renew(
    api: &impl SubscriptionApi,
    address: &str,
    renew_within: Duration,
    verification_token: &VerificationToken,
) -> Report {
    let inspection = match inspect(api, address, renew_within, OffsetDateTime::now_utc()) {
        Ok(inspection) => inspection,
        Err(error) => return Report::failed(address, error.to_string()),
    };
    let mut findings = inspection.findings();
    if findings.is_empty() {
        return Report {
            findings,
            healthy: true,
            healed: 0,
            expiring_soon: 0,
        };
    }
    let expiring_soon = findings
        .iter()
        .filter(|f| matches!(f, Finding::ExpiringSoon { .. }))
        .count() as u64;
    let actions: Vec<Finding> = heal(api, &inspection, verification_token)
        .into_iter()
        .chain(renew_expiring(api, &inspection))
        .collect();
    let healed = actions.iter().filter(|f| matches!(f, Finding::Healed { .. })).count() as u64;
    findings.extend(actions);
    let healthy = match inspect(api, address, renew_within, OffsetDateTime::now_utc()) {
        Ok(after) => after.healthy(),
        Err(error) => {
            findings.push(Finding::CheckFailed {
                address: address.to_owned(),
                error: error.to_string(),
            });
            false
        }
    };
    Report {
        findings,
        healthy,
        healed,
        expiring_soon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ringcentral::{DeliveryMode, Subscription, SubscriptionStatus};
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
    }

    fn subscription(id: &str, status: SubscriptionStatus, expires: &str) -> Subscription {
        Subscription {
            id: id.into(),
            status,
            expiration_time: Some(expires.into()),
            expires_in: None,
            event_filters: vec![],
            delivery_mode: DeliveryMode {
                transport_type: Some("WebHook".into()),
                address: Some(ADDRESS.into()),
            },
            blacklisted_data: None,
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

    fn now() -> OffsetDateTime {
        OffsetDateTime::parse("2026-11-28T10:00:00Z", &time::format_description::well_known::Rfc3339).unwrap()
    }

    const WITHIN: Duration = Duration::from_secs(3 * 86_400);

    #[test]
    fn a_blacklisted_subscription_is_replaced_new_one_first() {
        let api = FakeRingCentral::with(vec![subscription("old", SubscriptionStatus::Blacklisted, FAR)]);
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let findings = heal(&api, &inspection, &token());
        assert_eq!(api.calls(), ["list", "create 315360000", "delete old"]);
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

    #[test]
    fn a_failed_creation_keeps_the_dead_subscription() {
        let api = FakeRingCentral {
            create_fails: Some(RingCentralError::NotFound("x".into())),
            ..FakeRingCentral::with(vec![subscription("old", SubscriptionStatus::Blacklisted, FAR)])
        };
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        let findings = heal(&api, &inspection, &token());
        assert!(
            matches!(findings.as_slice(), [Finding::HealFailed { .. }]),
            "{findings:?}"
        );
        assert!(!api.calls().iter().any(|c| c.starts_with("delete")));
    }

    #[test]
    fn with_a_live_subscription_only_the_dead_ones_go_and_gone_counts_as_deleted() {
        let api = FakeRingCentral::with(vec![
            subscription("live", SubscriptionStatus::Active, FAR),
            subscription("paused", SubscriptionStatus::Other("Suspended".into()), FAR),
        ]);
        let inspection = inspect(&api, ADDRESS, WITHIN, now()).unwrap();
        api.subscriptions.borrow_mut().retain(|s| s.id == "live"); // someone else deleted it meanwhile
        let findings = heal(&api, &inspection, &token());
        assert_eq!(
            findings,
            [Finding::Removed {
                subscription_id: "paused".into(),
                address: ADDRESS.into(),
                status: "Suspended".into(),
            }]
        );
        assert!(!api.calls().iter().any(|c| c.starts_with("create")));
    }

    #[test]
    fn a_run_heals_a_missing_subscription_and_renews_an_expiring_one() {
        let api = FakeRingCentral::default();
        let report = check_heal_renew(&api, ADDRESS, WITHIN, &token());
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
        let report = check_heal_renew(&api, ADDRESS, WITHIN, &token());
        assert_eq!((report.healthy, report.healed, report.expiring_soon), (true, 0, 1));
        assert!(matches!(report.findings[1], Finding::Renewed { .. }), "{report:?}");
        assert!(api.calls().contains(&"renew s".to_owned()));
    }

    #[test]
    fn a_healthy_subscription_means_one_look_and_no_findings() {
        let api = FakeRingCentral::with(vec![subscription("s", SubscriptionStatus::Active, FAR)]);
        let report = check_heal_renew(&api, ADDRESS, WITHIN, &token());
        assert_eq!((report.healthy, report.findings.len()), (true, 0));
        assert_eq!(api.calls(), ["list"]);
    }
}
