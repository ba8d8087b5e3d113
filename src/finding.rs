//! What a check finds and what the guardian did about it: each one becomes
//! a message on the alarm topic and a line of CLI output.

use serde::Serialize;
use strum::{EnumMessage, IntoStaticStr};

/// The variant's name is the `finding` field of the message, its message
/// attribute and metric dimension ([`Finding::kind`]); its `message` is the
/// alarm's subject ([`Finding::subject`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, IntoStaticStr, EnumMessage)]
#[serde(tag = "finding", rename_all_fields = "camelCase")]
pub enum Finding {
    /// No subscription of this app delivers to the address.
    #[strum(message = "RingCentral subscription missing")]
    Missing { address: String },
    /// RingCentral stopped delivering to it for good.
    #[strum(message = "RingCentral subscription blacklisted")]
    Blacklisted {
        subscription_id: String,
        address: String,
        reason: Option<String>,
        blacklisted_at: Option<String>,
    },
    /// Neither Active nor Blacklisted (e.g. Suspended): nothing is delivered.
    #[strum(message = "RingCentral subscription not active")]
    Inactive {
        subscription_id: String,
        address: String,
        status: String,
    },
    /// Active and to the address, but RingCentral lists the Contact Center
    /// filter among its `disabledFilters`: it delivers none of those events.
    /// Recreating it would not help (the cause, usually a missing
    /// permission, stays), so the guardian does not: the operator fixes the
    /// cause, then runs the CLI's `heal`.
    #[strum(message = "RingCentral subscription deaf: Contact Center filter disabled")]
    FilterDisabled {
        subscription_id: String,
        address: String,
        /// RingCentral's code (`reason` in its spec, `errorCode` elsewhere).
        error_code: Option<String>,
        message: Option<String>,
        missing_permission: bool,
    },
    /// Active and to the address, but its `eventFilters` lack the Contact
    /// Center filter: the guardian and `heal` put it back (`PUT`).
    #[strum(message = "RingCentral subscription lacks the Contact Center filter")]
    FilterMissing {
        subscription_id: String,
        address: String,
        event_filters: Vec<String>,
    },
    /// The relay's event filters were put back on a subscription, and
    /// RingCentral now delivers the Contact Center filter.
    #[strum(message = "RingCentral subscription's Contact Center filter restored")]
    FiltersRestored { subscription_id: String, address: String },
    /// Putting the filters back failed, or RingCentral still does not deliver them.
    #[strum(message = "FAILED to restore the RingCentral subscription's filters")]
    RestoreFailed {
        subscription_id: String,
        address: String,
        error: String,
    },
    #[strum(message = "RingCentral subscription expiring soon")]
    ExpiringSoon {
        subscription_id: String,
        address: String,
        expiration_time: String,
        seconds_left: u64,
    },
    /// More than one Active subscription delivers to the address outside a
    /// rotation (two runs created one each at the same moment, say): each
    /// change arrives once per subscription. The newest is kept.
    #[strum(message = "RingCentral subscription duplicated")]
    Duplicate {
        address: String,
        kept: String,
        /// The others, to be deleted.
        duplicates: Vec<String>,
    },
    /// A new subscription replaced the dead or missing one.
    #[strum(message = "RingCentral subscription recreated")]
    Healed {
        subscription_id: String,
        address: String,
        expiration_time: String,
        replaced: Vec<String>,
    },
    #[strum(message = "RingCentral subscription renewed")]
    Renewed {
        subscription_id: String,
        address: String,
        expiration_time: String,
    },
    /// A dead subscription deleted once a live one was in place.
    #[strum(message = "Dead RingCentral subscription deleted")]
    Removed {
        subscription_id: String,
        address: String,
        status: String,
    },
    /// A duplicate deleted; `kept` still delivers.
    #[strum(message = "Duplicate RingCentral subscription deleted")]
    DuplicateRemoved {
        subscription_id: String,
        address: String,
        kept: String,
    },
    #[strum(message = "FAILED to recreate the RingCentral subscription")]
    HealFailed {
        address: String,
        error: String,
        /// RingCentral's error code when one decided it (`SUB-505`: the
        /// app's subscriptions limit, `SUB-520`: the handshake, …).
        code: Option<String>,
    },
    /// Nothing Active delivers, but another run (`holder`: the guardian's or
    /// the CLI's `heal`) holds the lease to create the subscription until
    /// `until`: this run left the creation to it.
    #[strum(message = "RingCentral subscription being recreated by another run")]
    HealDeferred {
        address: String,
        holder: String,
        until: String,
    },
    #[strum(message = "FAILED to renew the RingCentral subscription")]
    RenewFailed {
        subscription_id: String,
        address: String,
        error: String,
    },
    /// A dead or duplicate subscription could not be deleted.
    #[strum(message = "FAILED to delete a RingCentral subscription")]
    RemoveFailed {
        subscription_id: String,
        address: String,
        error: String,
    },
    /// Reconciliation published corrections: RingCentral's state differed
    /// from what subscribers were told, so it failed to deliver something.
    #[strum(message = "RingCentral missed notifications: corrections published")]
    Reconciled {
        created: usize,
        updated: usize,
        reassigned_away: usize,
        deleted: usize,
        numbers: usize,
    },
    #[strum(message = "FAILED to reconcile Contact Center numbers with RingCentral")]
    ReconcileFailed { error: String },
    /// The subscriptions could not even be read (credentials, permission, rate limit, ...).
    #[strum(message = "FAILED to check the RingCentral subscription")]
    CheckFailed { address: String, error: String },
}

impl Finding {
    /// An Active subscription that delivers nothing: its Contact Center
    /// filter disabled or missing.
    pub fn is_deaf(&self) -> bool {
        matches!(self, Self::FilterDisabled { .. } | Self::FilterMissing { .. })
    }

    pub fn kind(&self) -> &'static str {
        self.into()
    }

    /// The alarm's subject (SNS: ASCII, at most 100 characters).
    pub fn subject(&self) -> String {
        format!("cc-number-relay guardian: {}", self.get_message().unwrap_or_default())
    }

    /// One line for people: email subscribers of the alarm topic and the CLI.
    pub fn summary(&self) -> String {
        match self {
            Self::Missing { address } => format!("no subscription of this app delivers to {address}"),
            Self::Blacklisted {
                subscription_id,
                reason,
                blacklisted_at,
                ..
            } => format!(
                "subscription {subscription_id} is Blacklisted since {}: {}; RingCentral delivers nothing more to it",
                blacklisted_at.as_deref().unwrap_or("an unknown time"),
                reason.as_deref().unwrap_or("no reason given")
            ),
            Self::Inactive {
                subscription_id,
                status,
                ..
            } => format!("subscription {subscription_id} is {status}, not Active; RingCentral delivers nothing to it"),
            Self::FilterDisabled {
                subscription_id,
                error_code,
                message,
                missing_permission,
                ..
            } => {
                let why = match (error_code, message) {
                    (Some(c), Some(m)) => format!("{c}: {m}"),
                    (Some(c), None) => c.clone(),
                    (None, Some(m)) => m.clone(),
                    (None, None) => "no reason given".to_owned(),
                };
                let fix = if *missing_permission {
                    "add the permission it names (the relay needs ReadAccounts and SubscriptionWebhook) to the app in the RingCentral Developer Console, then run `cc-number-relay-ctl heal`; recreating the subscription will not help"
                } else {
                    "fix what RingCentral names, then run `cc-number-relay-ctl heal`; recreating the subscription will not help"
                };
                format!("subscription {subscription_id} is Active but RingCentral disabled its Contact Center filter ({why}), so no number change is delivered: {fix}")
            }
            Self::FilterMissing {
                subscription_id,
                event_filters,
                ..
            } => format!(
                "subscription {subscription_id} is Active but its event filters ({}) lack the Contact Center filter, so no number change is delivered; the guardian and `heal` put it back",
                if event_filters.is_empty() { "none".to_owned() } else { event_filters.join(", ") }
            ),
            Self::FiltersRestored { subscription_id, .. } => {
                format!("put the Contact Center filter back on subscription {subscription_id}; RingCentral delivers it again")
            }
            Self::RestoreFailed {
                subscription_id, error, ..
            } => format!("could not restore the Contact Center filter of subscription {subscription_id}: {error}"),
            Self::ExpiringSoon {
                subscription_id,
                expiration_time,
                seconds_left,
                ..
            } => format!(
                "subscription {subscription_id} expires at {expiration_time} (in {})",
                human_duration(*seconds_left)
            ),
            Self::Duplicate {
                address,
                kept,
                duplicates,
            } => {
                let n = duplicates.len() + 1;
                format!(
                    "{n} Active subscriptions deliver to {address} outside a rotation ({kept}, {}), so RingCentral sends each change {n} times (the inventory drops the repeats); keeping the newest, {kept}",
                    duplicates.join(", ")
                )
            }
            Self::DuplicateRemoved {
                subscription_id, kept, ..
            } => format!("deleted duplicate subscription {subscription_id}; {kept} delivers to the address"),
            Self::Healed {
                subscription_id,
                address,
                expiration_time,
                replaced,
            } => {
                let what = if replaced.is_empty() {
                    "the missing subscription".to_owned()
                } else {
                    format!("dead subscription {}", replaced.join(", "))
                };
                format!("created subscription {subscription_id} to {address} (Active, expires {expiration_time}) in place of {what}")
            }
            Self::Renewed {
                subscription_id,
                expiration_time,
                ..
            } => format!("renewed subscription {subscription_id}: now expires {expiration_time}"),
            Self::Removed {
                subscription_id,
                status,
                ..
            } => format!("deleted {status} subscription {subscription_id}; an Active one delivers to the address"),
            Self::HealFailed { address, error, .. } => {
                format!("could not recreate the subscription to {address}; the dead one is kept: {error}")
            }
            Self::RenewFailed {
                subscription_id, error, ..
            } => format!("could not renew subscription {subscription_id}: {error}"),
            Self::HealDeferred { address, holder, until } => format!(
                "nothing Active delivers to {address}, and another run ({holder}) holds the lease to create the subscription until {until}: this run left the creation to it"
            ),
            Self::RemoveFailed {
                subscription_id, error, ..
            } => format!("could not delete subscription {subscription_id}: {error}"),
            Self::Reconciled {
                created,
                updated,
                reassigned_away,
                deleted,
                numbers,
            } => format!(
                "reconciliation found {} changes RingCentral did not deliver and published them: {created} created, {updated} updated, {reassigned_away} reassigned away, {deleted} deleted (of {numbers} Contact Center numbers)",
                created + updated + reassigned_away + deleted
            ),
            Self::ReconcileFailed { error } => format!("could not reconcile with RingCentral: {error}"),
            Self::CheckFailed { address, error } => {
                format!("could not check the subscriptions to {address}: {error}")
            }
        }
    }

    /// The alarm-topic message: the finding's fields plus its summary.
    pub fn to_message(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({ "finding": self.kind() }));
        if let Some(object) = value.as_object_mut() {
            object.insert("summary".to_owned(), self.summary().into());
        }
        value.to_string()
    }
}

/// "3 days 4 h", "5 h 2 min", "40 s".
pub fn human_duration(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3_600, seconds % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_fields_and_a_summary() {
        let finding = Finding::Blacklisted {
            subscription_id: "s1".into(),
            address: "https://a/b".into(),
            reason: Some("Webhook responses with code: [404]".into()),
            blacklisted_at: Some("2026-01-01T00:00:00.000Z".into()),
        };
        let message: serde_json::Value = serde_json::from_str(&finding.to_message()).unwrap();
        assert_eq!(message["finding"], "Blacklisted");
        assert_eq!(message["subscriptionId"], "s1");
        assert_eq!(message["reason"], "Webhook responses with code: [404]");
        assert!(message["summary"].as_str().unwrap().contains("[404]"));
    }

    #[test]
    fn kind_is_the_serde_tag_and_every_finding_has_a_subject() {
        let findings = [
            Finding::Missing { address: "a".into() },
            Finding::CheckFailed {
                address: "a".into(),
                error: "e".into(),
            },
            Finding::Removed {
                subscription_id: "s".into(),
                address: "a".into(),
                status: "Suspended".into(),
            },
            Finding::Duplicate {
                address: "a".into(),
                kept: "s2".into(),
                duplicates: vec!["s1".into()],
            },
            Finding::DuplicateRemoved {
                subscription_id: "s1".into(),
                address: "a".into(),
                kept: "s2".into(),
            },
            Finding::HealDeferred {
                address: "a".into(),
                holder: "guardian 0123".into(),
                until: "2026-11-28T10:05:00.000Z".into(),
            },
        ];
        for finding in findings {
            let message: serde_json::Value = serde_json::from_str(&finding.to_message()).unwrap();
            assert_eq!(message["finding"], finding.kind());
            let subject = finding.subject();
            assert!(subject.len() <= 100 && subject.is_ascii(), "{subject}");
            assert!(subject.len() > "cc-number-relay guardian: ".len(), "{subject}");
        }
    }

    #[test]
    fn a_failed_heal_carries_ringcentrals_code() {
        let finding = Finding::HealFailed {
            address: "a".into(),
            error: "RingCentral refused the subscription (SUB-505: Subscriptions limit exceeded): …".into(),
            code: Some("SUB-505".into()),
        };
        let message: serde_json::Value = serde_json::from_str(&finding.to_message()).unwrap();
        assert_eq!(message["code"], "SUB-505");
        assert!(!finding.is_deaf());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(40), "40 s");
        assert_eq!(human_duration(3_720), "1 h 2 min");
        assert_eq!(human_duration(3 * 86_400 + 7_200), "3 days 2 h");
    }
}
