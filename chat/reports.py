"""Report figures for tenant admins: one aggregate query per figure, never one per row.

A conversation belongs to the day it was created, in the active time zone; first
response time is `first_reply_at - created_at` (the first public agent/bot message,
stamped by message_send), resolution time is `resolved_at - created_at` for the
conversations resolved (and still resolved) at read time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from chat.models import Conversation

MAX_DAYS = 366


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the typical wait, not skewed by one forgotten chat."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


_FIRST_RESPONSE = ExpressionWrapper(F("first_reply_at") - F("created_at"), output_field=DurationField())
_RESOLUTION = ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())
_RESOLVED = Q(status=Conversation.Status.RESOLVED, resolved_at__isnull=False)


@dataclass(frozen=True)
class Range:
    """Whole local days, start and end included."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return start, end


def default_range(*, today: dt.date | None = None) -> Range:
    today = today or timezone.localdate()
    return Range(start=today - dt.timedelta(days=29), end=today)


def _in_range(period: Range) -> QuerySet[Conversation]:
    start, end = period.bounds()
    return Conversation.objects.filter(created_at__gte=start, created_at__lt=end)


def _figures() -> dict:
    return {
        "conversations": Count("pk"),
        "replied": Count("pk", filter=Q(first_reply_at__isnull=False)),
        "resolved": Count("pk", filter=_RESOLVED),
        "first_response_avg": Avg(_FIRST_RESPONSE),
        "first_response_median": Median(_FIRST_RESPONSE),
        "resolution_avg": Avg(_RESOLUTION, filter=_RESOLVED),
        "resolution_median": Median(_RESOLUTION, filter=_RESOLVED),
    }


def conversations_per_day(*, period: Range) -> list[tuple[dt.date, int]]:
    """Every day of the range (zeros included), one grouped query."""
    rows = (
        _in_range(period)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {row["day"]: row["n"] for row in rows}
    return [(day, counts.get(day, 0)) for day in (period.start + dt.timedelta(days=i) for i in range(period.days))]


def summary(*, period: Range) -> dict:
    """Totals for the range: counts, first response and resolution (average and median)."""
    return _in_range(period).aggregate(**_figures())


def per_agent(*, period: Range) -> list[dict]:
    """One row per assignee (None = unassigned), busiest first."""
    return list(
        _in_range(period)
        .values("assignee_id", "assignee__name", "assignee__email")
        .annotate(**_figures())
        .order_by("-conversations", "assignee__name")
    )


def per_team(*, period: Range) -> list[dict]:
    return list(
        _in_range(period).values("team_id", "team__name").annotate(**_figures()).order_by("-conversations", "team__name")
    )


CSV_COLUMNS = (
    "id",
    "created_at",
    "inbox",
    "contact",
    "contact_email",
    "status",
    "assignee",
    "team",
    "priority",
    "labels",
    "messages",
    "first_reply_at",
    "first_response_seconds",
    "resolved_at",
    "resolution_seconds",
)


def _seconds(value: dt.timedelta | None) -> str:
    return "" if value is None else str(int(value.total_seconds()))


def conversation_rows(*, period: Range, chunk_size: int = 500) -> Iterator[list[str]]:
    """One row per conversation for the CSV export, streamed in chunks (constant memory)."""
    qs = (
        _in_range(period)
        .select_related("inbox", "contact", "assignee", "team")
        .prefetch_related("labels")
        .annotate(message_count=Count("messages"))
        .order_by("created_at", "pk")
    )
    tz = timezone.get_current_timezone()
    for c in qs.iterator(chunk_size=chunk_size):
        first = c.first_reply_at - c.created_at if c.first_reply_at else None
        resolved = c.resolved_at - c.created_at if c.resolved_at and c.status == Conversation.Status.RESOLVED else None
        yield [
            str(c.pk),
            c.created_at.astimezone(tz).isoformat(timespec="seconds"),
            c.inbox.name,
            c.contact.name,
            c.contact.email,
            c.status,
            (c.assignee.name or c.assignee.email) if c.assignee else "",
            c.team.name if c.team else "",
            str(c.priority),
            " ".join(sorted(label.name for label in c.labels.all())),
            str(c.message_count),
            c.first_reply_at.astimezone(tz).isoformat(timespec="seconds") if c.first_reply_at else "",
            _seconds(first),
            c.resolved_at.astimezone(tz).isoformat(timespec="seconds") if c.resolved_at else "",
            _seconds(resolved),
        ]
