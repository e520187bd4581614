"""Billing test helpers: real PostgreSQL (public ledger) and real Redis (shared cache)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from billing import cache_keys, periods
from billing.models import UsageEvent


def new_key(prefix: str = "t") -> str:
    return f"{prefix}:{uuid.uuid4()}"


def cached(org, metric: str, scope: str = "own"):
    from django.utils import timezone

    return cache_keys.cache().get(
        cache_keys.usage_counter(
            organization_id=org.pk, metric=metric, period=periods.period_of(timezone.now()), scope=scope
        )
    )


def ledger_count(org=None, **filters) -> int:
    qs = UsageEvent.objects.all()
    if org is not None:
        qs = qs.filter(organization_id=org.pk)
    return qs.filter(**filters).count()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks of a rolled-back (`db`) test as they would run for real."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture(autouse=True)
def _fresh_profiles():
    """The limits profile is memoized in-process for a few seconds: not across tests."""
    from billing.selectors import forget_local_profiles

    forget_local_profiles()
    yield
    forget_local_profiles()


# --- money: subscriptions and invoices ------------------------------------------------


def last_period():
    """The period before the current one: closable once the grace window is over."""
    from django.utils import timezone

    return periods.previous_period(periods.period_of(timezone.now()))


def closable_now():
    """A moment when last month is final, whatever today's date (right after its grace)."""
    from django.utils import timezone

    return max(timezone.now(), periods.end(last_period()) + periods.grace() + dt.timedelta(minutes=1))


def bill_from(org, period=None, *, cycle: str = "monthly"):
    """Make `org` a customer since before `period` (default last month), with a term that
    ends with it: closing `period` then renews it (base fee in advance) and prices its
    overage."""
    from billing.models import Subscription
    from tenants.models import Organization

    period = period or last_period()
    Organization.objects.filter(pk=org.pk).update(created_at=periods.start(periods.previous_period(period)))
    start = period
    for _ in range(11 if cycle == "yearly" else 0):  # a yearly term: the twelve months ending with `period`
        start = periods.previous_period(start)
    Subscription.objects.filter(organization_id=org.pk).update(
        cycle=cycle, status=Subscription.Status.ACTIVE, trial_ends_at=None,
        current_period_start=start, current_period_end=periods.next_period(period),
    )
    return Subscription.objects.get(organization_id=org.pk)


def final_meter(org, metric: str, value: int, period=None, last_value=None):
    from billing.models import Meter

    return Meter.objects.create(organization_id=org.pk, metric=metric, period=period or last_period(),
                                state=periods.FINAL, value=value,
                                last_value=value if last_value is None else last_value, events=1)
