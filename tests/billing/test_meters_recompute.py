"""Meters recomputed from the ledger; periods open → closing → final; late events; roll-ups."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Max, Sum
from django.utils import timezone

from billing import limits, meters, periods, selectors, services
from billing.models import Meter, UsageEvent
from tests.billing.conftest import cached, new_key


def ledger_row(org, metric, quantity, period, occurred_at=None, ingested_at=None):
    at = occurred_at or periods.start(period) + dt.timedelta(days=1)
    return UsageEvent.objects.create(
        organization_id=org.pk, metric=metric, quantity=quantity, occurred_at=at,
        ingested_at=ingested_at or at, period=period, idempotency_key=new_key(),
    )


def test_recompute_equals_the_ledger(db, tenant, other_tenant):
    rng = random.Random(4)
    period = periods.period_of(timezone.now())
    for org in (tenant, other_tenant):
        events = [meters.Event(org.pk, m, rng.randint(1, 50), new_key())
                  for m in ("message", "conversation_started", "api_call") for _ in range(rng.randint(5, 40))]
        meters.record_many(events)
        for reading in (3, 7, 5):
            meters.record(organization=org, metric="agent_seat", quantity=reading, idempotency_key=new_key())
    assert services.meters_recompute(period=period) == 8
    for org in (tenant, other_tenant):
        for meter in Meter.objects.filter(organization_id=org.pk, period=period):
            ledger = UsageEvent.objects.filter(organization_id=org.pk, metric=meter.metric, period=period)
            if meter.metric == "agent_seat":
                assert (meter.value, meter.last_value) == (7, 5)
            else:
                assert meter.value == ledger.aggregate(s=Sum("quantity"))["s"]
            assert meter.events == ledger.count()
            assert meter.state == "open"
    # never a blind increment: recomputing again gives the same figures
    before = list(Meter.objects.values_list("organization_id", "metric", "value", "last_value", "events"))
    services.meters_recompute(period=period)
    assert list(Meter.objects.values_list("organization_id", "metric", "value", "last_value", "events")) == before
    assert UsageEvent.objects.filter(metric="agent_seat").aggregate(m=Max("quantity"))["m"] == 7


def test_recompute_resets_the_cached_counter_to_the_ledger(db, tenant, on_commit):
    meters.record(organization=tenant, metric="message", quantity=4, idempotency_key=new_key())
    from billing import cache_keys

    key = cache_keys.usage_counter(organization_id=tenant.pk, metric="message", period=periods.period_of(timezone.now()))
    cache_keys.cache().set(key, 999)  # drifted
    with on_commit():
        services.meters_recompute(period=periods.period_of(timezone.now()), organization_ids=[tenant.pk])
    assert cached(tenant, "message") == 4
    assert limits.current_usage(organization=tenant, metric="message") == 4


def test_periods_go_open_closing_final_and_final_meters_never_change(db, tenant):
    period = dt.date(2026, 3, 1)
    end = periods.end(period)
    ledger_row(tenant, "message", 10, period)
    assert periods.state(period, now=end - dt.timedelta(seconds=1)) == "open"
    assert periods.state(period, now=end) == "closing"
    assert periods.state(period, now=end + periods.grace()) == "final"

    services.meters_recompute(period=period, now=end - dt.timedelta(minutes=5))
    assert Meter.objects.get(period=period).state == "open"
    # committed after the end but ingested before it: the closing recompute counts it
    ledger_row(tenant, "message", 5, period, ingested_at=end - dt.timedelta(seconds=1))
    assert services.periods_advance(now=end + dt.timedelta(minutes=10))["closing"] >= 1
    meter = Meter.objects.get(period=period)
    assert (meter.state, meter.value) == ("closing", 15)
    services.periods_advance(now=end + periods.grace() + dt.timedelta(minutes=1))
    meter = Meter.objects.get(period=period)
    assert (meter.state, meter.value) == ("final", 15) and meter.finalized_at
    # a row that somehow still carries the final period changes nothing
    ledger_row(tenant, "message", 100, period)
    services.meters_recompute(period=period, now=end + periods.grace() * 5)
    assert Meter.objects.get(period=period).value == 15


def test_late_events_are_counted_in_the_next_open_period(db, tenant):
    now = timezone.now()
    current, previous = periods.period_of(now), periods.previous_period(periods.period_of(now))
    ledger_row(tenant, "conversation_started", 2, previous)
    services.meters_recompute(period=previous, finalize=True)
    late_at = periods.end(previous) - dt.timedelta(minutes=1)  # happened last period, arrives now
    meters.record(organization=tenant, metric="conversation_started", idempotency_key="late-1", occurred_at=late_at)
    services.meters_recompute(period=previous)
    services.meters_recompute(period=current)
    assert Meter.objects.get(organization_id=tenant.pk, period=previous).value == 2
    assert Meter.objects.get(organization_id=tenant.pk, period=current).value == 1


def test_rollups_sum_a_partners_tree_from_public_tables(db, tenant, other_tenant, django_assert_max_num_queries):
    from django_tenants.utils import get_tenant_model

    Organization = get_tenant_model()
    Organization.objects.filter(pk=tenant.pk).update(kind="partner")
    Organization.objects.filter(pk=other_tenant.pk).update(parent=tenant)
    period = periods.period_of(timezone.now())
    meters.record_many([meters.Event(tenant.pk, "message", 3, new_key()), meters.Event(other_tenant.pk, "message", 4, new_key()),
                        meters.Event(tenant.pk, "agent_seat", 2, new_key()), meters.Event(other_tenant.pk, "agent_seat", 5, new_key())])
    services.meters_recompute(period=period)
    with django_assert_max_num_queries(2):
        totals = selectors.rollup(organization=tenant, period=period)
    assert totals["message"] == 7 and totals["agent_seat"] == 7
    assert selectors.rollup(organization=other_tenant, period=period)["message"] == 4
    children = selectors.rollup_children(organization=tenant, period=period)
    assert [(c["organization"].pk, c["totals"]["message"]) for c in children] == [(other_tenant.pk, 4)]


def test_period_parsing(db):
    now = timezone.make_aware(dt.datetime(2026, 1, 15, 12))
    assert periods.parse("this-month", now=now) == dt.date(2026, 1, 1)
    assert periods.parse("last-month", now=now) == dt.date(2025, 12, 1)
    assert periods.parse("2025-07", now=now) == dt.date(2025, 7, 1)
    for bad in ("2026-13", "2026-1", "yesterday", "", "2027-01"):
        try:
            periods.parse(bad, now=now)
        except periods.PeriodError:
            continue
        raise AssertionError(bad)
