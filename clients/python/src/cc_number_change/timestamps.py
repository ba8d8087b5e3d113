"""RFC 3339 timestamps to nanoseconds since the epoch, as the Rust kit reads them.

Python's ``datetime`` stops at microseconds, and the precedence rule orders
instants to the nanosecond (``.000000002Z`` is after ``.000000001Z``), so the
text is parsed here, by the rules of the ``time`` crate's ``Rfc3339`` parser
that the Rust kit uses: ``YYYY-MM-DD``, any one ASCII separator character, ``hh:mm:ss``,
an optional fraction of one or more digits (those past the ninth ignored),
then ``Z``/``z`` or ``+hh:mm``/``-hh:mm`` (hours up to 23). A second of 60 is
a leap second, read as 23:59:59.999999999 UTC on the last day of a month.
"""

from __future__ import annotations

import re

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[\x00-\x7f](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z",
    re.ASCII,
)

_NANOS = 1_000_000_000


class InvalidTimestamp(ValueError):
    """The text is not an RFC 3339 timestamp."""


def _days_from_civil(year: int, month: int, day: int) -> int:
    # Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def nanos(text: str) -> int:
    """The instant ``text`` names, in nanoseconds since 1970-01-01T00:00:00Z."""
    m = _RFC3339.match(text)
    if m is None:
        raise InvalidTimestamp("must be an RFC 3339 timestamp")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    fraction = m.group(7) or ""
    nano = int((fraction[:9]).ljust(9, "0")) if fraction else 0
    if m.group(8):
        offset = 0
    else:
        offset_hour, offset_minute = int(m.group(10)), int(m.group(11))
        if offset_hour > 23 or offset_minute > 59:
            raise InvalidTimestamp("must be an RFC 3339 timestamp")
        offset = (offset_hour * 3600 + offset_minute * 60) * (-1 if m.group(9) == "-" else 1)
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        raise InvalidTimestamp("must be an RFC 3339 timestamp")
    leap = second == 60
    if leap:
        second, nano = 59, _NANOS - 1
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidTimestamp("must be an RFC 3339 timestamp")
    local = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    utc = local - offset
    if leap:
        # Only the last second of a month, in UTC, may be a leap second.
        days, seconds = divmod(utc, 86400)
        next_day = days + 1
        if seconds != 86399 or _civil_day(next_day) != 1:
            raise InvalidTimestamp("must be an RFC 3339 timestamp")
    return utc * _NANOS + nano


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _civil_day(days: int) -> int:
    """The day of the month of ``days`` since the epoch."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    return doy - (153 * mp + 2) // 5 + 1
