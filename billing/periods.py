"""Billing periods: calendar months in the platform's time zone (settings.TIME_ZONE).

States, derived from the clock and persisted on each Meter by `periods_advance`:

* open     — now < end. Events ingested now are attributed to this period.
* closing  — end <= now < end + grace (settings.BILLING_PERIOD_GRACE). No event is
             attributed to it any more, but meters are still recomputed, so events that
             were ingested before the end and committed a little later (open transactions,
             batches, queues) are counted.
* final    — now >= end + grace. The meter is frozen; recompute leaves it alone.

Late events: an event is attributed to the period that is open when it is ingested
(`ingested_at`), never to one that is already closing or final. An event that occurred
on 31 October but is ingested on 1 November (October closing) counts in November; one
ingested in October with an occurred_at in November (clock skew) counts in October. So
`attributed_period(ingested_at)` is the period of the ingest time, whatever occurred_at
says; occurred_at is kept for reporting.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

OPEN = "open"
CLOSING = "closing"
FINAL = "final"
STATES = (OPEN, CLOSING, FINAL)

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


def grace() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "BILLING_PERIOD_GRACE_SECONDS", 3600))


def period_of(moment: dt.datetime) -> dt.date:
    """The first day of the month `moment` falls in, in the platform's time zone."""
    local = timezone.localtime(moment)
    return local.date().replace(day=1)


def localdate(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def attributed_period(*, ingested_at: dt.datetime) -> dt.date:
    return period_of(ingested_at)


def start(period: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(period.year, period.month, 1))


def next_period(period: dt.date) -> dt.date:
    return dt.date(period.year + (period.month == 12), period.month % 12 + 1, 1)


def previous_period(period: dt.date) -> dt.date:
    return dt.date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)


def end(period: dt.date) -> dt.datetime:
    return start(next_period(period))


def state(period: dt.date, *, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if now < end(period):
        return OPEN
    if now < end(period) + grace():
        return CLOSING
    return FINAL


def label(period: dt.date) -> str:
    return f"{period.year:04d}-{period.month:02d}"


def seconds_left(period: dt.date, *, now: dt.datetime | None = None) -> int:
    return max(1, int((end(period) - (now or timezone.now())).total_seconds()))


@dataclass(frozen=True)
class PeriodError(ValueError):
    message: str

    def __str__(self) -> str:
        return self.message


def parse(value: str, *, now: dt.datetime | None = None) -> dt.date:
    """`this-month`, `last-month` or `YYYY-MM`; anything else raises PeriodError."""
    current = period_of(now or timezone.now())
    value = (value or "").strip().lower()
    if value == "this-month":
        return current
    if value == "last-month":
        return previous_period(current)
    match = _PERIOD_RE.match(value)
    if not match:
        raise PeriodError(f"invalid period {value!r}: use this-month, last-month or YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 2000:
        raise PeriodError(f"invalid period {value!r}: month must be 01-12 and year 2000 or later")
    period = dt.date(year, month, 1)
    if period > current:
        raise PeriodError(f"period {value} is in the future")
    return period
