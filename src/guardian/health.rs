//! How a subscription stands, and what is wrong: pure functions of what
//! RingCentral listed and the time, so they are tested without a server.

use crate::finding::{human_duration, Finding};
use crate::ringcentral::{ContactCenterFilter, DisabledFilter, Subscription, SubscriptionStatus};
use std::time::Duration;
use time::OffsetDateTime;

/// How a subscription to the address stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Healthy,
    /// Active, but expires within the threshold (or already did).
    ExpiringSoon {
        seconds_left: u64,
    },
    /// Active, but its `eventFilters` lack the Contact Center filter:
    /// deaf, and mended by putting the filters back.
    FilterMissing,
    /// Active, but RingCentral lists the Contact Center filter among its
    /// `disabledFilters`: deaf until the cause (a permission, say) is fixed;
    /// a new subscription would be deaf too.
    FilterDisabled,
    Blacklisted,
    /// Any other status, e.g. Suspended.
    Inactive,
}

#[derive(Debug, Clone)]
pub struct Assessed {
    pub subscription: Subscription,
    pub state: State,
}

impl Assessed {
    /// One line of `status` output.
    pub fn line(&self, now: OffsetDateTime) -> String {
        let s = &self.subscription;
        let expiry = match s.expires_at() {
            Some(at) if at > now => format!(
                "expires {} (in {})",
                s.expiration(),
                human_duration(seconds_between(now, at))
            ),
            Some(_) => format!("expired {}", s.expiration()),
            None => format!("expires {}", s.expiration()),
        };
        let blacklisted = s.blacklisted_data.as_ref().map_or_else(String::new, |b| {
            format!(
                "  blacklisted since {}: {}",
                b.blacklisted_at.as_deref().unwrap_or("unknown"),
                b.reason.as_deref().unwrap_or("no reason given")
            )
        });
        let note = match self.state {
            State::ExpiringSoon { .. } => "  EXPIRING SOON".to_owned(),
            State::FilterMissing => "  CONTACT CENTER FILTER MISSING".to_owned(),
            State::FilterDisabled => match s.contact_center_filter() {
                ContactCenterFilter::Disabled(d) => format!(
                    "  CONTACT CENTER FILTER DISABLED ({}: {})",
                    d.code().unwrap_or("no code"),
                    d.message.as_deref().unwrap_or("no message")
                ),
                _ => "  CONTACT CENTER FILTER DISABLED".to_owned(),
            },
            _ => String::new(),
        };
        format!("{}  {}  {expiry}{blacklisted}{note}", s.id, s.status)
    }
}

/// Active subscriptions beyond one to the same address.
#[derive(Debug, Clone)]
pub struct Duplicates<'a> {
    /// The newest: it stays.
    pub kept: &'a Assessed,
    pub others: Vec<&'a Assessed>,
}

/// The subscriptions of this app to one address, assessed at one moment.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub address: String,
    pub subscriptions: Vec<Assessed>,
}

impl Inspection {
    /// An Active subscription that does not expire soon delivers to the address.
    pub fn healthy(&self) -> bool {
        self.subscriptions.iter().any(|a| a.state == State::Healthy)
    }

    /// Some Active subscription delivers to the address, expiring or not.
    pub fn alive(&self) -> bool {
        self.subscriptions
            .iter()
            .any(|a| matches!(a.state, State::Healthy | State::ExpiringSoon { .. }))
    }

    /// More than one Active subscription (expiring or not): the newest by
    /// `creationTime` is kept (one without comes before every one with; of
    /// equals, the later listed), the others are duplicates, oldest first.
    pub fn duplicates(&self) -> Option<Duplicates<'_>> {
        let mut active: Vec<(usize, &Assessed)> = self
            .subscriptions
            .iter()
            .filter(|a| matches!(a.state, State::Healthy | State::ExpiringSoon { .. }))
            .enumerate()
            .collect();
        if active.len() < 2 {
            return None;
        }
        active.sort_by_key(|(at, a)| (a.subscription.created_at(), *at));
        let (_, kept) = active.pop()?;
        Some(Duplicates {
            kept,
            others: active.into_iter().map(|(_, a)| a).collect(),
        })
    }

    /// The one subscription that stands for the address: the newest Active
    /// one (the one a duplicate check keeps), else the last listed of any
    /// status, so a registry shows the Blacklisted one nothing replaced yet.
    pub fn current(&self) -> Option<&Subscription> {
        let newest_active = self
            .subscriptions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.subscription.is_active())
            .max_by_key(|(at, a)| (a.subscription.created_at(), *at))
            .map(|(_, a)| &a.subscription);
        newest_active.or_else(|| self.subscriptions.last().map(|a| &a.subscription))
    }

    /// Active subscriptions that lost the Contact Center filter.
    pub(super) fn filters_missing(&self) -> impl Iterator<Item = &Assessed> {
        self.subscriptions.iter().filter(|a| a.state == State::FilterMissing)
    }

    /// Active subscriptions whose Contact Center filter RingCentral disabled.
    pub(super) fn filters_disabled(&self) -> impl Iterator<Item = &Assessed> {
        self.subscriptions.iter().filter(|a| a.state == State::FilterDisabled)
    }

    pub(super) fn dead(&self) -> impl Iterator<Item = &Assessed> {
        self.subscriptions
            .iter()
            .filter(|a| matches!(a.state, State::Blacklisted | State::Inactive))
    }

    /// What is wrong, one finding each; none when all is well.
    pub fn findings(&self) -> Vec<Finding> {
        let address = self.address.clone();
        if self.subscriptions.is_empty() {
            return vec![Finding::Missing { address }];
        }
        self.subscriptions
            .iter()
            .filter_map(|a| {
                let s = &a.subscription;
                let subscription_id = s.id.clone();
                let address = address.clone();
                match a.state {
                    State::Healthy => None,
                    State::ExpiringSoon { seconds_left } => Some(Finding::ExpiringSoon {
                        subscription_id,
                        address,
                        expiration_time: s.expiration().to_owned(),
                        seconds_left,
                    }),
                    State::FilterMissing => Some(Finding::FilterMissing {
                        subscription_id,
                        address,
                        event_filters: s.event_filters.clone(),
                    }),
                    State::FilterDisabled => {
                        let disabled = match s.contact_center_filter() {
                            ContactCenterFilter::Disabled(d) => d,
                            _ => DisabledFilter::default(),
                        };
                        Some(Finding::FilterDisabled {
                            subscription_id,
                            address,
                            error_code: disabled.code().map(str::to_owned),
                            message: disabled.message.clone(),
                            missing_permission: disabled.missing_permission(),
                        })
                    }
                    State::Blacklisted => Some(Finding::Blacklisted {
                        subscription_id,
                        address,
                        reason: s.blacklisted_data.as_ref().and_then(|b| b.reason.clone()),
                        blacklisted_at: s.blacklisted_data.as_ref().and_then(|b| b.blacklisted_at.clone()),
                    }),
                    State::Inactive => Some(Finding::Inactive {
                        subscription_id,
                        address,
                        status: s.status.to_string(),
                    }),
                }
            })
            .collect()
    }
}

fn seconds_between(from: OffsetDateTime, to: OffsetDateTime) -> u64 {
    u64::try_from((to - from).whole_seconds()).unwrap_or(0)
}

pub fn assess(subscription: &Subscription, renew_within: Duration, now: OffsetDateTime) -> State {
    match subscription.status {
        SubscriptionStatus::Active => {
            match subscription.contact_center_filter() {
                ContactCenterFilter::Delivered => {}
                ContactCenterFilter::Missing => return State::FilterMissing,
                ContactCenterFilter::Disabled(_) => return State::FilterDisabled,
            }
            // No readable expiry: treat as expiring, so it gets renewed and a date.
            let left = subscription.expires_at().map_or(0, |at| seconds_between(now, at));
            if left <= renew_within.as_secs() {
                State::ExpiringSoon { seconds_left: left }
            } else {
                State::Healthy
            }
        }
        SubscriptionStatus::Blacklisted => State::Blacklisted,
        _ => State::Inactive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ringcentral::DeliveryMode;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    }

    fn subscription(status: SubscriptionStatus, expires: Option<&str>) -> Subscription {
        Subscription {
            id: "s".into(),
            status,
            expiration_time: expires.map(str::to_owned),
            expires_in: None,
            event_filters: vec![crate::ringcentral::CONTACT_CENTER_NUMBER_FILTER.to_owned()],
            delivery_mode: DeliveryMode::default(),
            blacklisted_data: None,
            disabled_filters: vec![],
            creation_time: None,
        }
    }

    #[test]
    fn assessing_is_a_function_of_status_expiry_and_now() {
        let now = at("2026-11-28T10:00:00Z");
        let within = Duration::from_secs(86_400);
        let active = |expires| assess(&subscription(SubscriptionStatus::Active, expires), within, now);
        assert_eq!(active(Some("2026-12-28T10:00:00Z")), State::Healthy);
        assert_eq!(
            active(Some("2026-11-28T12:00:00Z")),
            State::ExpiringSoon { seconds_left: 7_200 }
        );
        assert_eq!(
            active(Some("2026-11-27T10:00:00Z")),
            State::ExpiringSoon { seconds_left: 0 }
        );
        // No readable expiry: renewed, so that it gets one.
        assert_eq!(active(None), State::ExpiringSoon { seconds_left: 0 });
        let other = |status| assess(&subscription(status, None), within, now);
        assert_eq!(other(SubscriptionStatus::Blacklisted), State::Blacklisted);
        assert_eq!(other(SubscriptionStatus::Other("Suspended".into())), State::Inactive);
        assert_eq!(other(SubscriptionStatus::Unknown), State::Inactive);
    }

    #[test]
    fn the_current_subscription_is_the_newest_active_else_the_last_listed() {
        let now = at("2026-11-28T10:00:00Z");
        let within = Duration::from_secs(86_400);
        let listed = |subs: Vec<(&str, SubscriptionStatus, Option<&str>)>| Inspection {
            address: "https://a/b".into(),
            subscriptions: subs
                .into_iter()
                .map(|(id, status, created)| {
                    let mut s = subscription(status, Some("2036-01-01T00:00:00Z"));
                    s.id = id.into();
                    s.creation_time = created.map(str::to_owned);
                    Assessed {
                        state: assess(&s, within, now),
                        subscription: s,
                    }
                })
                .collect(),
        };
        let current = |i: &Inspection| i.current().map(|s| s.id.clone());
        let found = listed(vec![
            ("new", SubscriptionStatus::Active, Some("2026-11-02T00:00:00Z")),
            ("dead", SubscriptionStatus::Blacklisted, Some("2026-11-03T00:00:00Z")),
            ("old", SubscriptionStatus::Active, Some("2026-11-01T00:00:00Z")),
        ]);
        assert_eq!(current(&found), Some("new".to_owned()));
        let found = listed(vec![
            ("a", SubscriptionStatus::Blacklisted, None),
            ("b", SubscriptionStatus::Other("Suspended".into()), None),
        ]);
        assert_eq!(current(&found), Some("b".to_owned()));
        assert_eq!(current(&listed(vec![])), None);
    }

    #[test]
    fn an_active_subscription_is_healthy_only_with_the_filter_delivered() {
        let now = at("2026-11-28T10:00:00Z");
        let within = Duration::from_secs(86_400);
        let far = Some("2036-01-01T00:00:00Z");
        let assessed = |s: Subscription| Inspection {
            address: "https://a/b".into(),
            subscriptions: vec![Assessed {
                state: assess(&s, within, now),
                subscription: s,
            }],
        };

        let mut missing = subscription(SubscriptionStatus::Active, far);
        missing.event_filters = vec![crate::ringcentral::RENEWAL_REMINDER_FILTER.to_owned()];
        let found = assessed(missing);
        assert_eq!(found.subscriptions[0].state, State::FilterMissing);
        assert!(!found.healthy() && !found.alive());
        assert_eq!(
            found.findings(),
            [Finding::FilterMissing {
                subscription_id: "s".into(),
                address: "https://a/b".into(),
                event_filters: vec![crate::ringcentral::RENEWAL_REMINDER_FILTER.to_owned()],
            }]
        );

        let mut disabled = subscription(SubscriptionStatus::Active, far);
        disabled.disabled_filters = vec![DisabledFilter {
            filter: Some("/restapi/v1.0/account/37439510/phone-number?usageType=ContactCenterNumber".into()),
            reason: Some("SUB-412".into()),
            error_code: None,
            message: Some("In order to call this API endpoint, user needs to have [ReadAccounts] permission".into()),
        }];
        let found = assessed(disabled);
        assert_eq!(found.subscriptions[0].state, State::FilterDisabled);
        assert!(!found.healthy() && !found.alive());
        assert_eq!(
            found.findings(),
            [Finding::FilterDisabled {
                subscription_id: "s".into(),
                address: "https://a/b".into(),
                error_code: Some("SUB-412".into()),
                message: Some(
                    "In order to call this API endpoint, user needs to have [ReadAccounts] permission".into()
                ),
                missing_permission: true,
            }]
        );
        assert!(found.subscriptions[0]
            .line(now)
            .ends_with("CONTACT CENTER FILTER DISABLED (SUB-412: In order to call this API endpoint, user needs to have [ReadAccounts] permission)"));
        assert!(found.findings()[0]
            .summary()
            .contains("recreating the subscription will not help"));

        // Suspended, Blocked (changelog 1.0.33) and an absent status deliver nothing.
        for status in [
            SubscriptionStatus::Other("Suspended".into()),
            SubscriptionStatus::Other("Blocked".into()),
            SubscriptionStatus::Unknown,
        ] {
            let found = assessed(subscription(status.clone(), far));
            assert_eq!(found.subscriptions[0].state, State::Inactive, "{status}");
            assert!(matches!(found.findings()[..], [Finding::Inactive { .. }]), "{status}");
        }
    }

    #[test]
    fn no_subscription_is_the_missing_finding() {
        let inspection = Inspection {
            address: "https://a/b".into(),
            subscriptions: vec![],
        };
        assert!(!inspection.alive());
        assert_eq!(
            inspection.findings(),
            [Finding::Missing {
                address: "https://a/b".into()
            }]
        );
    }

    #[test]
    fn of_several_active_subscriptions_the_newest_is_kept() {
        let active = |id: &str, status, created: Option<&str>| {
            let mut s = subscription(status, Some("2036-01-01T00:00:00Z"));
            s.id = id.into();
            s.creation_time = created.map(str::to_owned);
            Assessed {
                state: assess(&s, Duration::from_secs(60), at("2026-11-28T10:00:00Z")),
                subscription: s,
            }
        };
        let inspection = |subscriptions| Inspection {
            address: "https://a/b".into(),
            subscriptions,
        };
        let ids = |d: Duplicates<'_>| {
            let others: Vec<String> = d.others.iter().map(|a| a.subscription.id.clone()).collect();
            (d.kept.subscription.id.clone(), others)
        };
        let found = inspection(vec![
            active("newest", SubscriptionStatus::Active, Some("2026-11-28T09:00:00.5Z")),
            active("dead", SubscriptionStatus::Blacklisted, Some("2026-11-28T09:30:00Z")),
            active("unknown", SubscriptionStatus::Active, None),
            active("older", SubscriptionStatus::Active, Some("2026-11-28T09:00:00.4Z")),
        ]);
        assert_eq!(
            found.duplicates().map(ids),
            Some(("newest".to_owned(), vec!["unknown".to_owned(), "older".to_owned()]))
        );
        let one = inspection(vec![
            active("live", SubscriptionStatus::Active, None),
            active("dead", SubscriptionStatus::Blacklisted, None),
        ]);
        assert!(one.duplicates().is_none(), "one Active and a dead one: no duplicate");
    }
}
