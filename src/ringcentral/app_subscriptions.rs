//! All of the app's subscriptions, every address, as the operator reads
//! them (`cc-number-relay-ctl subscriptions`, and after SUB-505): RingCentral
//! allows about 20 per user and app and has no console page to list or
//! delete them, so orphans of old stacks and tests pile up unseen.

use super::Subscription;
use crate::notification::EventFilter;
use serde_json::{json, Value};

/// One subscription with what the listing says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<'a> {
    pub subscription: &'a Subscription,
    /// It delivers to the address the operator named.
    pub ours: bool,
    /// Why it looks orphaned, if it does.
    pub orphaned: Option<String>,
}

/// Each subscription, in RingCentral's order, marked against `ours` (the
/// operator's `--address`, if given): not Active (Blacklisted, Suspended,
/// anything else: it delivers nothing), or delivering to another address.
pub fn listing<'a>(subscriptions: &'a [Subscription], ours: Option<&str>) -> Vec<Listed<'a>> {
    subscriptions
        .iter()
        .map(|s| {
            let is_ours = ours.is_some() && s.address() == ours;
            let orphaned = if !s.is_active() {
                Some(format!("{}, delivers nothing", s.status))
            } else if ours.is_some() && !is_ours {
                Some("delivers to another address".to_owned())
            } else {
                None
            };
            Listed {
                subscription: s,
                ours: is_ours,
                orphaned,
            }
        })
        .collect()
}

/// A filter in a few words: the relay's two by name, others by their path
/// under `/restapi/v1.0`.
pub fn short_filter(filter: &str) -> String {
    match EventFilter::parse(filter) {
        Ok(EventFilter::ContactCenterNumbers { .. }) => "contact-center-numbers".to_owned(),
        Ok(EventFilter::RenewalReminder) => "renewal-reminders".to_owned(),
        Err(_) => filter.strip_prefix("/restapi/v1.0").unwrap_or(filter).to_owned(),
    }
}

impl Listed<'_> {
    /// Where it delivers: the address, or the transport of one that has none
    /// (a WebSocket or PubNub subscription of the same app).
    fn destination(&self) -> &str {
        let mode = &self.subscription.delivery_mode;
        mode.address
            .as_deref()
            .or(mode.transport_type.as_deref())
            .unwrap_or("no address")
    }

    /// `ID  STATUS  expires WHEN  ADDRESS  FILTERS[  ours][  looks orphaned: WHY]`
    pub fn line(&self) -> String {
        let s = self.subscription;
        let filters = if s.event_filters.is_empty() {
            "no event filters".to_owned()
        } else {
            s.event_filters
                .iter()
                .map(|f| short_filter(f))
                .collect::<Vec<_>>()
                .join(",")
        };
        let ours = if self.ours { "  ours" } else { "" };
        let orphaned = self
            .orphaned
            .as_ref()
            .map_or_else(String::new, |why| format!("  looks orphaned: {why}"));
        format!(
            "{}  {}  expires {}  {}  {filters}{ours}{orphaned}",
            s.id,
            s.status,
            s.expiration(),
            self.destination()
        )
    }

    /// For `--json`: the subscription's own fields (filters in full) and the marks.
    pub fn json(&self) -> Value {
        let s = self.subscription;
        json!({
            "id": s.id,
            "status": s.status.as_str(),
            "expirationTime": s.expiration_time,
            "address": s.address(),
            "transportType": s.delivery_mode.transport_type,
            "eventFilters": s.event_filters,
            "blacklistedData": s.blacklisted_data,
            "ours": self.ours,
            "orphaned": self.orphaned,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ringcentral::{CONTACT_CENTER_NUMBER_FILTER, RENEWAL_REMINDER_FILTER};

    fn sub(id: &str, status: &str, address: &str, filters: &[&str]) -> Subscription {
        serde_json::from_value(json!({
            "id": id, "status": status, "expirationTime": "2036-11-25T10:00:00.000Z",
            "eventFilters": filters,
            "deliveryMode": {"transportType": "WebHook", "address": address},
        }))
        .unwrap()
    }

    #[test]
    fn marks_ours_and_what_looks_orphaned() {
        let subs = [
            sub(
                "a",
                "Active",
                "https://ours/hook",
                &[CONTACT_CENTER_NUMBER_FILTER, RENEWAL_REMINDER_FILTER],
            ),
            sub("b", "Blacklisted", "https://ours/hook", &[CONTACT_CENTER_NUMBER_FILTER]),
            sub(
                "c",
                "Active",
                "https://old/hook",
                &["/restapi/v1.0/account/~/extension/~/message-store"],
            ),
            sub("d", "Suspended", "https://old/hook", &[]),
        ];
        let lines: Vec<String> = listing(&subs, Some("https://ours/hook"))
            .iter()
            .map(Listed::line)
            .collect();
        assert_eq!(
            lines,
            [
                "a  Active  expires 2036-11-25T10:00:00.000Z  https://ours/hook  contact-center-numbers,renewal-reminders  ours",
                "b  Blacklisted  expires 2036-11-25T10:00:00.000Z  https://ours/hook  contact-center-numbers  ours  looks orphaned: Blacklisted, delivers nothing",
                "c  Active  expires 2036-11-25T10:00:00.000Z  https://old/hook  /account/~/extension/~/message-store  looks orphaned: delivers to another address",
                "d  Suspended  expires 2036-11-25T10:00:00.000Z  https://old/hook  no event filters  looks orphaned: Suspended, delivers nothing",
            ]
        );
        // Without --address only the status tells.
        let unmarked = listing(&subs, None);
        assert_eq!(unmarked[2].orphaned, None);
        assert!(!unmarked[0].ours);
        assert_eq!(unmarked[3].orphaned.as_deref(), Some("Suspended, delivers nothing"));
    }

    #[test]
    fn json_keeps_the_filters_in_full() {
        let subs = [sub(
            "a",
            "Blacklisted",
            "https://ours/hook",
            &[CONTACT_CENTER_NUMBER_FILTER],
        )];
        let value = listing(&subs, Some("https://ours/hook"))[0].json();
        assert_eq!(
            value,
            json!({"id": "a", "status": "Blacklisted", "expirationTime": "2036-11-25T10:00:00.000Z",
                   "address": "https://ours/hook", "transportType": "WebHook",
                   "eventFilters": [CONTACT_CENTER_NUMBER_FILTER], "blacklistedData": null,
                   "ours": true, "orphaned": "Blacklisted, delivers nothing"})
        );
    }
}
