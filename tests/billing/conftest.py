"""Billing test helpers: real PostgreSQL (public ledger) and real Redis (shared cache)."""

from __future__ import annotations

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
