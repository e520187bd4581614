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
