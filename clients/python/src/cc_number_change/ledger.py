"""Applied once, in order, per number: the precedence rule, the ledger
interface and an in-memory ledger. The same rule as the Rust kit's
``Entry::verdict_against`` (crates/cc-number-change/src/ledger.rs), held to
the same vectors (schema/vectors/precedence.json).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from .decode import leaves_contact_center_number, occurred_at_nanos
from .models import Change


class Verdict(str, Enum):
    """What became of one change. Run side effects only for ``APPLIED``."""

    APPLIED = "Applied"
    """Newer than anything applied to its number: now the number's state."""
    DUPLICATE = "Duplicate"
    """The same notification as the one last applied to its number."""
    STALE = "Stale"
    """Older than what was applied to its number."""


@dataclass(frozen=True)
class Entry:
    """The last applied change of one number, as a ledger keeps it. A
    ``Deleted`` stays as a tombstone (``contact_center`` false), so an older
    change arriving late cannot bring the number back."""

    phone_number_id: str
    e164: str
    occurred_at: str
    occurred_at_nanos: int
    """The instant that orders, whatever offset the text was written in."""
    notification_id: str
    change_type: str
    contact_center: bool
    contact_center_provider_id: str | None

    @classmethod
    def of(cls, change: Change) -> Entry:
        provider = change.contactCenterProvider
        return cls(
            phone_number_id=change.phoneNumber.id,
            e164=change.phoneNumber.e164,
            occurred_at=change.occurredAt,
            occurred_at_nanos=occurred_at_nanos(change),
            notification_id=change.notificationId,
            change_type=change.changeType,
            contact_center=leaves_contact_center_number(change),
            contact_center_provider_id=(provider.id or None) if provider is not None else None,
        )

    def verdict_against(self, current: Entry) -> Verdict:
        """The precedence rule: the same notification is a duplicate whatever
        its instant (a correction published again); else the later instant
        wins, and at equal instants the greater notification id (bytewise)."""
        if self.notification_id == current.notification_id:
            return Verdict.DUPLICATE
        mine = (self.occurred_at_nanos, self.notification_id.encode())
        theirs = (current.occurred_at_nanos, current.notification_id.encode())
        return Verdict.APPLIED if mine > theirs else Verdict.STALE

    def to_json(self) -> dict[str, Any]:
        """As the precedence vectors write an entry (the DynamoDB item less ``occurredAtNanos``)."""
        return {
            "phoneNumberId": self.phone_number_id,
            "e164": self.e164,
            "occurredAt": self.occurred_at,
            "notificationId": self.notification_id,
            "changeType": self.change_type,
            "contactCenter": self.contact_center,
            "contactCenterProviderId": self.contact_center_provider_id,
        }


U = TypeVar("U")


@dataclass(frozen=True)
class Recorded(Generic[U]):
    """What recording a change did; ``undo`` (when applied) puts the number back."""

    verdict: Verdict
    undo: U | None = None


class LedgerError(RuntimeError):
    """The ledger could not be read or written (not a verdict)."""


class Ledger(Protocol):
    """What a subscriber has applied, keyed by phone number id."""

    def record(self, entry: Entry) -> Recorded[Any]:
        """Records ``entry`` if it takes precedence over the number's current
        entry, in one atomic step (no read before the write)."""
        ...

    def revert(self, entry: Entry, undo: Any) -> None:
        """Puts back what ``entry`` replaced, unless something newer replaced it since."""
        ...


class MemoryLedger:
    """A ledger in memory: tests, and subscribers whose state is rebuilt from a snapshot at every start."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def entries(self) -> list[Entry]:
        """Every number's entry, tombstones included, by phone number id."""
        with self._lock:
            return sorted(self._entries.values(), key=lambda e: e.phone_number_id.encode())

    def record(self, entry: Entry) -> Recorded[Entry | None]:
        with self._lock:
            current = self._entries.get(entry.phone_number_id)
            verdict = Verdict.APPLIED if current is None else entry.verdict_against(current)
            if verdict is Verdict.APPLIED:
                self._entries[entry.phone_number_id] = entry
                return Recorded(verdict, current)
            return Recorded(verdict)

    def revert(self, entry: Entry, undo: Entry | None) -> None:
        with self._lock:
            current = self._entries.get(entry.phone_number_id)
            if current is None or current.notification_id != entry.notification_id:
                return
            if undo is None:
                del self._entries[entry.phone_number_id]
            else:
                self._entries[entry.phone_number_id] = undo


def apply(ledger: Ledger, change: Change) -> Verdict:
    """Records one change; the verdict the subscriber acts on."""
    return ledger.record(Entry.of(change)).verdict
