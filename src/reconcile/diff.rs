//! The comparison: RingCentral's list against what the inventory says
//! subscribers were told, one correction per difference, each with an id
//! that follows the number's state and nothing else.

use crate::change::{Change, EventType, NotificationId, NumberState, Origin, SchemaVersion, Timestamp};
use crate::inventory::Told;
use crate::ringcentral::Listing;
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Created,
    Updated,
    ReassignedAway,
    Deleted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Updated => "Updated",
            Self::ReassignedAway => "Updated (reassigned away)",
            Self::Deleted => "Deleted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub kind: Kind,
    pub change: Change,
}

/// The inventory's Contact Center numbers that RingCentral's list lacks:
/// deleted, or reassigned away; a get by id tells which. Numbers whose list
/// record did not decode are not concluded to be gone.
pub fn vanished<'a>(truth: &Listing, told: &'a [Told]) -> Vec<&'a Told> {
    let listed: HashSet<&str> = truth
        .numbers
        .iter()
        .map(|n| n.phone_number.id.as_str())
        .chain(truth.unreadable.iter().map(|(id, _)| id.as_str()))
        .collect();
    told.iter()
        .filter(|t| t.is_contact_center() && !listed.contains(t.id().as_str()))
        .collect()
}

/// The differences, one correction per number, in id order.
/// `looked_up`: for each vanished id, the number as RingCentral has it now
/// (`None`: gone).
pub fn diff(
    truth: &Listing,
    told: &[Told],
    looked_up: &BTreeMap<String, Option<NumberState>>,
    observed_at: &Timestamp,
) -> Vec<Correction> {
    let by_id: BTreeMap<&str, &Told> = told.iter().map(|t| (t.id().as_str(), t)).collect();
    let mut corrections = Vec::new();
    for number in &truth.numbers {
        let kind = match by_id.get(number.phone_number.id.as_str()) {
            None => Kind::Created,
            Some(t) if t.deleted() => Kind::Created,
            Some(t) if number.differs_from(&t.change) => Kind::Updated,
            Some(_) => continue,
        };
        corrections.push(correction(kind, number.clone(), Origin::Reconciliation, observed_at));
    }
    for t in vanished(truth, told) {
        let (kind, state) = match looked_up.get(t.id().as_str()) {
            Some(Some(now)) if now.differs_from(&t.change) => (Kind::ReassignedAway, now.clone()),
            // Back in RingCentral with the state subscribers know (a list
            // that raced a change): nothing to tell.
            Some(Some(_)) => continue,
            Some(None) => (Kind::Deleted, last_known(t)),
            // Not looked up (the lookup failed): concluded nothing.
            None => continue,
        };
        corrections.push(correction(kind, state, Origin::Reconciliation, observed_at));
    }
    corrections.sort_by(|a, b| a.change.phone_number.id.as_str().cmp(b.change.phone_number.id.as_str()));
    corrections
}

/// The number as subscribers were last told it, for the account it was told for.
pub(super) fn last_known(t: &Told) -> NumberState {
    NumberState {
        account_id: t.change.account_id.clone(),
        phone_number: t.change.phone_number.clone(),
        contact_center_provider: t.change.contact_center_provider.clone(),
    }
}

pub(super) fn correction(kind: Kind, state: NumberState, origin: Origin, observed_at: &Timestamp) -> Correction {
    let change_type = match kind {
        Kind::Created => EventType::Created,
        Kind::Updated | Kind::ReassignedAway => EventType::Updated,
        Kind::Deleted => EventType::Deleted,
    };
    let notification_id = correction_id(origin, change_type, &state);
    Correction {
        kind,
        change: Change {
            schema_version: SchemaVersion,
            change_type,
            notification_id,
            occurred_at: observed_at.clone(),
            account_id: state.account_id,
            subscription_id: None,
            owner_id: None,
            phone_number: state.phone_number,
            contact_center_provider: state.contact_center_provider,
        },
    }
}

/// The same number in the same state always gets the same id: SHA-256 of
/// the state, shaped as a UUID (version 8, RFC 9562's custom version), so
/// it meets the relay's uuid rule and FIFO's deduplication id rule.
pub fn correction_id(origin: Origin, change_type: EventType, state: &NumberState) -> NotificationId {
    use sha2::{Digest, Sha256};
    let n = &state.phone_number;
    let provider = state.contact_center_provider.as_ref();
    let fields = [
        Some("cc-number-relay correction v1"),
        Some(origin.as_str()),
        Some(change_type.as_str()),
        Some(n.id.as_str()),
        Some(n.e164.as_str()),
        n.payment_type.as_deref(),
        n.location.as_deref(),
        n.kind.as_deref(),
        n.usage_type.as_deref(),
        n.status.as_deref(),
        provider.and_then(|p| p.id.as_deref()),
        provider.and_then(|p| p.name.as_deref()),
    ];
    let mut hash = Sha256::new();
    for field in fields {
        // Length-prefixed, and absent apart from empty, so no two states collide by concatenation.
        match field {
            Some(text) => {
                hash.update((text.len() as u64).to_be_bytes());
                hash.update(text.as_bytes());
            }
            None => hash.update(u64::MAX.to_be_bytes()),
        }
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    // 36 visible ASCII characters: always valid.
    NotificationId::parse(uuid).unwrap_or_else(|_| unreachable!("a UUID is a valid notification id"))
}
