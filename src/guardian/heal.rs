//! What the guardian does about it, over the [`SubscriptionApi`] port:
//! inspect, recreate what is dead or missing (the new subscription first,
//! so a failed creation loses nothing), renew what expires soon.

use super::finding::Finding;
use super::health::{assess, Assessed, Inspection, State};
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
pub fn heal(api: &impl SubscriptionApi, inspection: &Inspection, verification_token: &VerificationToken) -> Vec<Finding> {
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
pub fn check_heal_renew(api: &impl SubscriptionApi, address: &str, renew_within: Duration, verification_token: &VerificationToken) -> Report {
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

