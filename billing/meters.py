"""The usage ledger's only writer: `record(...)` and `record_many(...)`.

Cheap on the hot path: one `INSERT … ON CONFLICT (idempotency_key) DO NOTHING`, in the
caller's transaction (so a rolled-back conversation leaves no usage), plus a cached-
counter update after commit for the rows actually inserted. The same key recorded twice,
by one writer or by concurrent ones, counts once. `batch()` gathers the record() calls
of a block into one multi-row INSERT.

Counters (conversation_started, message, api_call): quantity is the amount used.
Gauges (agent_seat, storage_bytes): quantity is the new absolute reading (e.g. the total
bytes stored after an upload); meters keep the period's max and last reading."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from billing import metrics, periods, selectors, usage_cache
from billing.models import UsageEvent

MAX_KEY_LENGTH = UsageEvent._meta.get_field("idempotency_key").max_length
_CHUNK = 1000


@dataclass(frozen=True)
class Event:
    organization_id: int
    metric: str
    quantity: int
    idempotency_key: str
    occurred_at: dt.datetime | None = None


class RecordError(ValueError):
    pass


_batch: ContextVar[list[Event] | None] = ContextVar("billing_meter_batch", default=None)


def _validate(event: Event) -> Event:
    if not event.organization_id:
        raise RecordError("an organization (saved, with a pk) is required")
    try:
        metrics.validate(event.metric)
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    if not isinstance(event.quantity, int) or isinstance(event.quantity, bool) or event.quantity < 0:
        raise RecordError(f"quantity must be a non-negative integer, not {event.quantity!r}")
    key = event.idempotency_key
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise RecordError(f"idempotency_key must be a non-empty string of at most {MAX_KEY_LENGTH} characters")
    return event


def record(
    *,
    organization,
    metric: str,
    quantity: int = 1,
    idempotency_key: str,
    occurred_at: dt.datetime | None = None,
) -> bool:
    """Record one billable event; True if it was new, False if its key was already there.

    Inside `batch()`, the event is queued and written at the end of the block (returns True)."""
    event = _validate(Event(getattr(organization, "pk", None), metric, quantity, idempotency_key, occurred_at))
    pending = _batch.get()
    if pending is not None:
        pending.append(event)
        return True
    return _insert([event]) == 1


def record_many(events: Iterable[Event]) -> int:
    """Record many events in multi-row INSERTs; returns how many were new."""
    batch = [_validate(e) for e in events]
    return _insert(batch) if batch else 0


@contextlib.contextmanager
def batch() -> Iterator[list[Event]]:
    """Gather the record() calls of a block into one multi-row INSERT at its end."""
    if _batch.get() is not None:  # nested: the outer block writes
        yield _batch.get()
        return
    pending: list[Event] = []
    token = _batch.set(pending)
    try:
        yield pending
    finally:
        _batch.reset(token)
    if pending:
        _insert(pending)


def _insert(events: list[Event]) -> int:
    now = timezone.now()
    period = periods.attributed_period(ingested_at=now)
    table = f"{connection.ops.quote_name(get_public_schema_name())}.{connection.ops.quote_name(UsageEvent._meta.db_table)}"
    inserted: list[tuple[int, str, dt.date, int]] = []
    # one statement is atomic by itself; several share the caller's (or a new) transaction
    atomic = transaction.atomic(savepoint=False) if len(events) > _CHUNK else contextlib.nullcontext()
    with atomic, connection.cursor() as cursor:
        for start in range(0, len(events), _CHUNK):
            chunk = events[start : start + _CHUNK]
            params: list = []
            for e in chunk:
                params += [e.organization_id, e.metric, e.quantity, e.occurred_at or now, now, period, e.idempotency_key]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (organization_id, metric, quantity, occurred_at, ingested_at, period, idempotency_key) "
                f"VALUES {values} ON CONFLICT (idempotency_key) DO NOTHING "
                "RETURNING organization_id, metric, period, quantity",
                params,
            )
            inserted += cursor.fetchall()
        if inserted:
            transaction.on_commit(lambda: _after_commit(inserted))
    return len(inserted)


def _after_commit(rows: list[tuple[int, str, dt.date, int]]) -> None:
    try:
        usage_cache.apply_many(rows, selectors.ancestor_ids)
    except Exception:  # the ledger is the truth: a cache failure must not fail the caller
        import logging

        logging.getLogger(__name__).warning("could not update cached usage counters", exc_info=True)
