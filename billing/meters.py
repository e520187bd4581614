"""The usage ledger's only writer: `record(...)` and `record_many(...)`.

Cheap on the hot path: one `INSERT … ON CONFLICT (idempotency_key) DO NOTHING`, in the
caller's transaction (so a rolled-back conversation leaves no usage), plus a cached-
counter update after commit for the rows actually inserted. The same key recorded twice,
by one writer or by concurrent ones, counts once. `batch()` gathers the record() calls
of a block into one multi-row INSERT. `record_later()` queues per-request events (api_call)
for a background multi-row INSERT every BILLING_COUNTER_DEFER_SECONDS.

Counters (conversation_started, message, api_call): quantity is the amount used.
Gauges (agent_seat, storage_bytes): quantity is the new absolute reading (e.g. the total
bytes stored after an upload); meters keep the period's max and last reading."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model

from billing import metrics, periods, selectors, usage_cache
from billing.models import UsageEvent
from orbit.lib.errors import OrbitError

MAX_KEY_LENGTH = UsageEvent._meta.get_field("idempotency_key").max_length
_CHUNK = 1000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    organization_id: int
    metric: str
    quantity: int
    idempotency_key: str
    occurred_at: dt.datetime | None = None


class RecordError(OrbitError, ValueError):
    code = "bad_usage_event"


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


@dataclass(frozen=True)
class KeyedInsert:
    """A ledger INSERT to put in the caller's own statement (see `keyed_insert`)."""

    sql: str
    params: dict
    organization_id: int
    metric: str
    quantity: int
    period: dt.date

    def inserted(self, count: int) -> None:
        """The statement committed `count` new ledger rows: update the cached counters after
        commit (coalesced per process, off the caller's thread; see `_defer`)."""
        if count:
            row = (self.organization_id, self.metric, self.period, self.quantity * count)
            transaction.on_commit(lambda: _defer(row))

    def committed(self, count: int) -> None:
        """inserted() for a statement that ran outside Django's transactions and has already
        committed (orbit.lib.adb, autocommit on the event loop): the counters are updated off
        the caller's thread even when deferring is off, as updating them may block (Redis, and
        the database on a limits-profile miss)."""
        if count:
            _defer((self.organization_id, self.metric, self.period, self.quantity * count), off_thread=True)


def keyed_insert(*, organization, metric: str, key_prefix: str, source: str, now: dt.datetime, quantity: int = 1) -> KeyedInsert:
    """The body of a data-modifying CTE that records one event per row of the CTE `source`
    (which has an `id` column), keyed `key_prefix || id`, for the hot paths that store the
    billable row and its usage in ONE statement (one round trip, same transaction, so a
    rollback removes both and a committed row is always counted). It RETURNs one row per
    new ledger row: the caller selects `(SELECT count(*) FROM <its cte>)` and passes it to
    `.inserted(count)`. Same idempotency as record(): ON CONFLICT (idempotency_key) DO NOTHING."""
    if not isinstance(key_prefix, str) or not key_prefix.strip() or len(key_prefix) + 20 > MAX_KEY_LENGTH:
        raise RecordError(f"key_prefix must be a non-empty string of at most {MAX_KEY_LENGTH - 20} characters")
    event = _validate(Event(getattr(organization, "pk", None), metric, quantity, key_prefix + "0", now))
    period = periods.attributed_period(ingested_at=now)
    table = f"{connection.ops.quote_name(get_public_schema_name())}.{connection.ops.quote_name(UsageEvent._meta.db_table)}"
    sql = (
        f"INSERT INTO {table} (organization_id, metric, quantity, occurred_at, ingested_at, period, idempotency_key) "
        f"SELECT %(usage_org)s, %(usage_metric)s, %(usage_quantity)s, %(usage_now)s, %(usage_now)s, %(usage_period)s, "
        f"%(usage_prefix)s || {source}.id::text FROM {source} "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1"
    )
    params = {
        "usage_org": event.organization_id,
        "usage_metric": metric,
        "usage_quantity": quantity,
        "usage_now": now,
        "usage_period": period,
        "usage_prefix": key_prefix,
    }
    return KeyedInsert(sql, params, event.organization_id, metric, quantity, period)


# Cached-counter updates of keyed_insert(), coalesced per process: one Redis round trip
# per BILLING_COUNTER_DEFER_SECONDS instead of one per message. The ledger is the truth
# (written in the caller's transaction); the counters are a cache that every meter
# recompute resets, so a crash before a flush only leaves them briefly low.
_deferred: dict[tuple[int, str, dt.date], int] = {}
_deferred_lock = threading.Lock()
_flush_timer: threading.Timer | None = None


def _defer(row: tuple[int, str, dt.date, int], *, off_thread: bool = False) -> None:
    global _flush_timer
    delay = getattr(settings, "BILLING_COUNTER_DEFER_SECONDS", 0.2)
    if not delay:
        if off_thread:
            threading.Thread(target=_in_own_thread, args=(_after_commit, [row]), daemon=True).start()
        else:
            _after_commit([row])
        return
    org_id, metric, period, quantity = row
    with _deferred_lock:
        key = (org_id, metric, period)
        _deferred[key] = _deferred.get(key, 0) + quantity
        if _flush_timer is None:
            _flush_timer = threading.Timer(delay, _in_own_thread, args=(flush_deferred,))
            _flush_timer.daemon = True
            _flush_timer.start()


def flush_deferred() -> int:
    """Apply the coalesced counter updates now; returns how many (org, metric, period) rows."""
    global _flush_timer
    with _deferred_lock:
        rows = [(*key, quantity) for key, quantity in _deferred.items()]
        _deferred.clear()
        _flush_timer = None
    if rows:
        _after_commit(rows)
    return len(rows)


def _in_own_thread(func, *args) -> None:
    """func(*args) as a short-lived thread's whole work: its database connections, if it
    opened any, are closed when it ends."""
    try:
        func(*args)
    finally:
        connections.close_all()


def _after_commit(rows: list[tuple[int, str, dt.date, int]]) -> None:
    try:
        usage_cache.apply_many(rows, selectors.ancestor_ids)
    except Exception:  # the ledger is the truth: a cache failure must not fail the caller
        log.warning("could not update cached usage counters", exc_info=True)


# Events recorded later, per process: for metering that has no transaction of its own to
# share and happens on every request (api_call). Gathered for BILLING_COUNTER_DEFER_SECONDS,
# then written by one multi-row INSERT (record_many's) off the request's thread; 0 (tests)
# writes at once. Not transactional: call it after the fact, outside any transaction (the
# rate-limit middleware does). Events of an organization deleted meanwhile are dropped; a
# flush that fails otherwise (database unreachable) keeps its events for the next one (up
# to MAX_PENDING_EVENTS * 10); a clean shutdown flushes what is left (atexit).
MAX_PENDING_EVENTS = 5000  # this many waiting: written at once (by the flush thread, never the caller)
_pending_events: list[Event] = []
_events_lock = threading.Lock()
_events_timer: threading.Timer | None = None


def record_later(*, organization, metric: str, quantity: int = 1, idempotency_key: str) -> None:
    """Queue one event for the process's next ledger flush (see above); validated now.
    The key must be unique per billable thing, as for record(); the same key twice counts once."""
    global _events_timer
    event = _validate(Event(getattr(organization, "pk", None), metric, quantity, idempotency_key))
    delay = getattr(settings, "BILLING_COUNTER_DEFER_SECONDS", 0.2)
    if not delay:
        _insert([event])
        return
    with _events_lock:
        _pending_events.append(event)
        full = len(_pending_events) >= MAX_PENDING_EVENTS
        if full and _events_timer is not None and _events_timer.interval > 0:
            _events_timer.cancel()  # full: flush now, but still not on the caller's (request's) thread
            _events_timer = None
        if _events_timer is None:
            _events_timer = threading.Timer(0 if full else delay, _in_own_thread, args=(flush_events,))
            _events_timer.daemon = True
            _events_timer.start()


def pending_events() -> int:
    return len(_pending_events)


def flush_events() -> int:
    """Write the queued events now (one INSERT per 1,000); returns how many were new."""
    global _events_timer
    with _events_lock:
        events = list(_pending_events)
        _pending_events.clear()
        timer, _events_timer = _events_timer, None
    if timer is not None and timer is not threading.current_thread():
        timer.cancel()
    if not events:
        return 0
    try:
        try:
            return _insert(events)
        except IntegrityError:  # an organization deleted since its events were queued
            alive = set(get_tenant_model().objects.filter(pk__in={e.organization_id for e in events})
                        .values_list("pk", flat=True))
            events = [e for e in events if e.organization_id in alive]
            return _insert(events) if events else 0
    except Exception:
        with _events_lock:
            kept = (events + _pending_events)[-MAX_PENDING_EVENTS * 10 :]
            lost = len(events) + len(_pending_events) - len(kept)
            _pending_events[:] = kept
        log.warning("could not write %s usage events; kept for the next flush (%s dropped)", len(events), lost,
                    exc_info=True)
        return 0


def _flush_at_exit() -> None:
    try:
        flush_events()
        flush_deferred()
    except Exception:  # noqa: BLE001 — shutting down: nothing else to do
        log.warning("could not flush usage at exit", exc_info=True)


def _forget_in_child() -> None:
    """A forked child starts with an empty queue (the parent writes its own)."""
    global _events_timer, _flush_timer, _events_lock, _deferred_lock
    _pending_events.clear()
    _deferred.clear()
    _events_timer = _flush_timer = None
    _events_lock, _deferred_lock = threading.Lock(), threading.Lock()


atexit.register(_flush_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
