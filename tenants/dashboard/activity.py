"""Who did something, per organization and day: agents who sent a message (by e-mail) and
visitors who wrote (by contact). The operator's "active users" are real activity, not seats.

`activity_record(...)` is called by chat's message send on every message, on the request's
thread or on the websocket event loop, so it never touches the database itself: it counts
in a per-process dict, and a timer thread writes what gathered every
ORBIT_DASHBOARD_ACTIVITY_FLUSH_SECONDS (10 s) in one multi-row upsert per (organization, day,
kind, actor). A crash loses at most that window; a clean exit flushes (atexit). The test
suite sets it negative: rows wait for an explicit `flush()` (the snapshot refresh calls it),
so a message send stays one statement and no thread writes behind a test's back."""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import logging
import os
import threading

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from tenants.dashboard.models import ActivityDay

log = logging.getLogger(__name__)

AGENT = ActivityDay.Kind.AGENT
VISITOR = ActivityDay.Kind.VISITOR
MAX_PENDING = 20_000  # keys waiting: flushed at once (off the caller's thread)

Key = tuple[int, dt.date, str, str]  # organization id, day, kind, actor
_pending: dict[Key, list] = {}  # key -> [actions, first_at, last_at]
_lock = threading.Lock()
_timer: threading.Timer | None = None


def flush_delay() -> float:
    return float(getattr(settings, "ORBIT_DASHBOARD_ACTIVITY_FLUSH_SECONDS", 10))


def activity_record(*, organization, kind: str, user=None, contact_id: int | None = None,
                    now: dt.datetime | None = None) -> None:
    """Count one action: `kind` is the message's sender type ("agent" with `user`, "contact"
    with `contact_id`); anything else (system, bot) is not a person and is ignored."""
    organization_id = getattr(organization, "pk", None)
    if not organization_id:
        return
    if kind == "agent" and user is not None and getattr(user, "email", ""):
        key_kind, actor = AGENT, user.email.lower()[:254]
    elif kind == "contact" and contact_id:
        key_kind, actor = VISITOR, str(contact_id)
    else:
        return
    now = now or timezone.now()
    key = (organization_id, timezone.localtime(now).date(), key_kind, actor)
    _add({key: [1, now, now]})


def _add(rows: dict[Key, list]) -> None:
    global _timer
    delay = flush_delay()
    with _lock:
        for key, (actions, first_at, last_at) in rows.items():
            entry = _pending.get(key)
            if entry is None:
                _pending[key] = [actions, first_at, last_at]
            else:
                entry[0] += actions
                entry[1] = min(entry[1], first_at)
                entry[2] = max(entry[2], last_at)
        full = len(_pending) >= MAX_PENDING
        if delay >= 0 and _timer is None:  # a negative delay: only explicit flushes (the test suite)
            _timer = threading.Timer(0 if full else delay, _in_own_thread)
            _timer.daemon = True
            _timer.start()


def forget() -> None:
    """Drop what is waiting (tests)."""
    with _lock:
        _pending.clear()


def _in_own_thread() -> None:
    try:
        flush()
    finally:
        connections.close_all()


def pending() -> int:
    return len(_pending)


def flush() -> int:
    """Write what gathered now; returns how many rows were upserted. A failure (database
    unreachable) keeps the rows for the next flush."""
    global _timer
    with _lock:
        rows = dict(_pending)
        _pending.clear()
        timer, _timer = _timer, None
    if timer is not None and timer is not threading.current_thread():
        timer.cancel()
    if not rows:
        return 0
    try:
        return _upsert(rows)
    except Exception:
        with _lock:
            for key, value in rows.items():
                if key not in _pending and len(_pending) < MAX_PENDING * 5:
                    _pending[key] = value
        log.warning("could not write %s activity rows; kept for the next flush", len(rows), exc_info=True)
        return 0


def _upsert(rows: dict[Key, list]) -> int:
    table = f"{connection.ops.quote_name(get_public_schema_name())}.{connection.ops.quote_name(ActivityDay._meta.db_table)}"
    ordered = sorted(rows.items())  # one lock order for concurrent flushes
    # inside the caller's transaction (tests): a savepoint, so a failure cannot break it
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with savepoint, connection.cursor() as cursor:
        for start in range(0, len(ordered), 1000):
            chunk = ordered[start : start + 1000]
            params: list = []
            for (organization_id, day, kind, actor), (actions, first_at, last_at) in chunk:
                params += [organization_id, day, kind, actor, actions, first_at, last_at]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} AS a (organization_id, day, kind, actor, actions, first_at, last_at) "
                f"VALUES {values} ON CONFLICT (organization_id, day, kind, actor) DO UPDATE SET "
                "actions = a.actions + EXCLUDED.actions, first_at = LEAST(a.first_at, EXCLUDED.first_at), "
                "last_at = GREATEST(a.last_at, EXCLUDED.last_at)",
                params,
            )
    return len(ordered)


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # noqa: BLE001 — shutting down
        log.warning("could not flush activity at exit", exc_info=True)


def _forget_in_child() -> None:
    global _timer, _lock
    _pending.clear()
    _timer = None
    _lock = threading.Lock()


atexit.register(_flush_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
