"""billing.meters.record: idempotent, cheap, safe under concurrent writers."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing import meters, periods
from billing.models import UsageEvent
from tests.billing.conftest import cached, ledger_count, new_key


def test_same_key_twice_counts_once(db, tenant, on_commit):
    key = new_key()
    with on_commit():
        assert meters.record(organization=tenant, metric="message", idempotency_key=key) is True
    with on_commit():
        assert meters.record(organization=tenant, metric="message", quantity=5, idempotency_key=key) is False
    event = UsageEvent.objects.get(idempotency_key=key)
    assert (event.quantity, event.metric, event.organization_id) == (1, "message", tenant.pk)
    assert event.period == periods.period_of(timezone.now())
    assert event.ingested_at >= event.occurred_at


def test_recording_feeds_a_warm_cached_counter_once(db, tenant, on_commit):
    from billing import limits

    assert limits.current_usage(organization=tenant, metric="message") == 0  # warms the counter at 0
    keys = [new_key() for _ in range(3)]
    with on_commit():
        for key in keys + keys:
            meters.record(organization=tenant, metric="message", quantity=2, idempotency_key=key)
    assert cached(tenant, "message") == 6
    assert limits.current_usage(organization=tenant, metric="message") == 6


def test_record_many_and_batch_are_one_insert_each(db, tenant, on_commit, django_assert_num_queries):
    events = [meters.Event(tenant.pk, "api_call", 1, new_key()) for _ in range(50)]
    with on_commit():
        assert meters.record_many(events + events[:10]) == 50
    with django_assert_num_queries(1), on_commit(), meters.batch():
        for _ in range(20):
            meters.record(organization=tenant, metric="api_call", idempotency_key=new_key())
    assert ledger_count(tenant, metric="api_call") == 70


def test_a_rolled_back_caller_leaves_no_usage(db, tenant, on_commit):
    from billing import limits

    limits.current_usage(organization=tenant, metric="conversation_started")
    key = new_key()
    with on_commit(), pytest.raises(RuntimeError), transaction.atomic():
        meters.record(organization=tenant, metric="conversation_started", idempotency_key=key)
        raise RuntimeError("the conversation could not be created")
    assert ledger_count(idempotency_key=key) == 0
    assert cached(tenant, "conversation_started") == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metric": "bogus"}, "unknown metric"),
        ({"quantity": -1}, "non-negative"),
        ({"quantity": 1.5}, "non-negative"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "x" * 201}, "idempotency_key"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(db, tenant, kwargs, message):
    args = {"organization": tenant, "metric": "message", "idempotency_key": new_key(), **kwargs}
    with pytest.raises(meters.RecordError, match=message):
        meters.record(**args)
    assert ledger_count() == 0


def test_an_event_from_a_closed_period_lands_in_the_open_one(db, tenant):
    last_month = periods.start(periods.previous_period(periods.period_of(timezone.now())))
    meters.record(organization=tenant, metric="message", idempotency_key="late", occurred_at=last_month)
    event = UsageEvent.objects.get(idempotency_key="late")
    assert event.occurred_at == last_month
    assert event.period == periods.period_of(timezone.now())


def test_a_tenant_records_never_touch_another_tenants_counter(db, tenant, other_tenant, on_commit):
    from billing import limits

    limits.current_usage(organization=other_tenant, metric="message")
    with on_commit():
        for _ in range(5):
            meters.record(organization=tenant, metric="message", idempotency_key=new_key())
    assert cached(other_tenant, "message") == 0
    assert limits.current_usage(organization=other_tenant, metric="message") == 0
    assert limits.current_usage(organization=tenant, metric="message") == 5


WRITERS = 8


def test_concurrent_writers_on_the_same_keys_count_once(live_db, tenant):
    """Eight threads, eight connections, the same 200 keys plus 50 of their own each."""
    from billing import limits

    limits.current_usage(organization=tenant, metric="message")
    shared = [f"shared:{i}" for i in range(200)]
    barrier = threading.Barrier(WRITERS)
    results: list[int] = []
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            new = 0
            for i, key in enumerate(shared):
                new += meters.record(organization=tenant, metric="message", idempotency_key=key)
                if i % 4 == 0:
                    new += meters.record(organization=tenant, metric="message", idempotency_key=f"own:{n}:{i}")
            results.append(new)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    expected = 200 + WRITERS * 50
    assert sum(results) == expected
    assert ledger_count(tenant, metric="message") == expected
    assert limits.current_usage(organization=tenant, metric="message") == expected


# --- keyed_insert: the ledger row in the caller's own statement (chat's message hot path) ---


def _keyed_statement(tenant, ids, prefix, now):
    meter = meters.keyed_insert(organization=tenant, metric="message", key_prefix=prefix, source="src", now=now)
    values = ", ".join(f"({int(i)})" for i in ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH src(id) AS (VALUES {values}), metered AS ({meter.sql}) SELECT (SELECT count(*) FROM metered)",
            meter.params,
        )
        count = cursor.fetchone()[0]
    meter.inserted(count)
    return count


def test_keyed_insert_records_one_row_per_source_row_once(db, tenant, on_commit):
    from billing import limits

    assert limits.current_usage(organization=tenant, metric="message") == 0  # warm the counter
    prefix = new_key("msg") + ":"
    now = timezone.now()
    with on_commit():
        assert _keyed_statement(tenant, [1, 2, 3], prefix, now) == 3
    with on_commit():
        assert _keyed_statement(tenant, [2, 3, 4], prefix, now) == 1  # 2 and 3 were there
    keys = sorted(UsageEvent.objects.filter(idempotency_key__startswith=prefix).values_list("idempotency_key", flat=True))
    assert keys == [f"{prefix}{i}" for i in (1, 2, 3, 4)]
    event = UsageEvent.objects.get(idempotency_key=f"{prefix}1")
    assert (event.organization_id, event.metric, event.quantity) == (tenant.pk, "message", 1)
    assert event.period == periods.attributed_period(ingested_at=now)
    assert cached(tenant, "message") == 4  # BILLING_COUNTER_DEFER_SECONDS is 0 in tests: at once


def test_keyed_insert_rolls_back_with_the_caller(db, tenant, on_commit):
    prefix = new_key("msg") + ":"
    with on_commit(), pytest.raises(RuntimeError), transaction.atomic():
        _keyed_statement(tenant, [1], prefix, timezone.now())
        raise RuntimeError
    assert not UsageEvent.objects.filter(idempotency_key__startswith=prefix).exists()


def test_keyed_insert_validates(db, tenant):
    with pytest.raises(meters.RecordError):
        meters.keyed_insert(organization=tenant, metric="nope", key_prefix="m:", source="src", now=timezone.now())
    with pytest.raises(meters.RecordError):
        meters.keyed_insert(organization=tenant, metric="message", key_prefix=" ", source="src", now=timezone.now())
    with pytest.raises(meters.RecordError):
        meters.keyed_insert(organization=None, metric="message", key_prefix="m:", source="src", now=timezone.now())


def test_deferred_counter_updates_are_coalesced_into_one_flush(db, tenant, on_commit, settings):
    from billing import limits

    settings.BILLING_COUNTER_DEFER_SECONDS = 60  # the timer never fires during the test
    assert limits.current_usage(organization=tenant, metric="message") == 0
    prefix = new_key("msg") + ":"
    try:
        for i in range(5):
            with on_commit():
                _keyed_statement(tenant, [i], prefix, timezone.now())
        assert cached(tenant, "message") == 0  # not yet: one Redis round trip per flush, not per message
        assert meters.flush_deferred() == 1  # one (organization, metric, period) row
        assert cached(tenant, "message") == 5
        assert meters.flush_deferred() == 0
    finally:
        timer = meters._flush_timer
        if timer is not None:
            timer.cancel()
        meters.flush_deferred()


def test_committed_updates_the_counters_off_the_callers_thread(db, tenant, settings, monkeypatch):
    """KeyedInsert.committed (the event loop's send path): never on the caller's thread, even
    with deferring off, since updating counters may block on Redis or the database."""
    settings.BILLING_COUNTER_DEFER_SECONDS = 0
    applied = []
    done = threading.Event()

    def after_commit(rows):
        applied.append((threading.current_thread(), rows))
        done.set()

    monkeypatch.setattr(meters, "_after_commit", after_commit)
    meter = meters.keyed_insert(organization=tenant, metric="message", key_prefix="m:", source="src", now=timezone.now())
    meter.committed(0)
    assert not applied  # nothing committed, nothing to count
    meter.committed(2)
    assert done.wait(5)
    (thread, rows), = applied
    assert thread is not threading.current_thread()
    assert rows == [(tenant.pk, "message", meter.period, 2)]
