"""Cached usage counters on the shared Redis: fast reads for limits.check().

Fed by the ledger: record() adds what it actually inserted after commit, a cold key is
warmed from the ledger with `add` (never overwriting a live value), and every meter
recompute resets the key to the ledger's truth. Entries expire after
settings.BILLING_COUNTER_TTL, so any drift from races heals by itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from django.conf import settings

from billing import cache_keys, metrics


def _ttl() -> int:
    return getattr(settings, "BILLING_COUNTER_TTL", 600)


def get_many(keys: list[str]) -> dict[str, int]:
    return cache_keys.cache().get_many(keys)


def get_or_warm(key: str, warm: Callable[[], int]) -> int:
    value = cache_keys.cache().get(key)
    if value is None:
        value = warm()
        cache_keys.cache().add(key, value, _ttl())
    return int(value)


def apply(*, key: str, metric: str, quantity: int) -> None:
    """A new ledger row committed: counters add, gauges take the reading. A cold key
    stays cold (the next read warms it from the ledger, which has the row)."""
    c = cache_keys.cache()
    if metrics.is_gauge(metric):
        c.set(key, quantity, _ttl())
        return
    try:
        c.incr(key, quantity)
    except ValueError:  # not cached: nothing to keep in step
        pass


def apply_many(rows: Iterable[tuple[int, str, dt.date, int]], ancestors: Callable[[int], list[int]]) -> None:
    """rows: (organization_id, metric, period, quantity) actually inserted."""
    totals: dict[str, tuple[str, int]] = {}
    for org_id, metric, period, quantity in rows:
        own = cache_keys.usage_counter(organization_id=org_id, metric=metric, period=period)
        if metrics.is_gauge(metric):
            totals[own] = (metric, quantity)
            # a tree's gauge is a sum of the children's last readings: re-read it
            for ancestor in ancestors(org_id):
                cache_keys.cache().delete(
                    cache_keys.usage_counter(organization_id=ancestor, metric=metric, period=period, scope="tree")
                )
            continue
        keys = [own] + [
            cache_keys.usage_counter(organization_id=a, metric=metric, period=period, scope="tree")
            for a in ancestors(org_id)
        ]
        for key in keys:
            previous = totals.get(key, (metric, 0))[1]
            totals[key] = (metric, previous + quantity)
    for key, (metric, quantity) in totals.items():
        apply(key=key, metric=metric, quantity=quantity)


def reset(*, key: str, value: int) -> None:
    cache_keys.cache().set(key, value, _ttl())


def forget(keys: list[str]) -> None:
    cache_keys.cache().delete_many(keys)
