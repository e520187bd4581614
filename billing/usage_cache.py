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


# INCRBY only the keys that exist (a cold key stays cold): one round trip for a batch.
_INCR_IF_CACHED = """
for i, key in ipairs(KEYS) do
  if redis.call('exists', key) == 1 then redis.call('incrby', key, ARGV[i]) end
end
return 0
"""
_script = None


def _incr_if_cached(totals: dict[str, int]) -> None:
    global _script
    c = cache_keys.cache()
    client = c.client.get_client(write=True)
    if _script is None:
        _script = client.register_script(_INCR_IF_CACHED)
    _script(keys=[c.make_key(k) for k in totals], args=list(totals.values()), client=client)


def apply_many(rows: Iterable[tuple[int, str, dt.date, int]], ancestors: Callable[[int], list[int]]) -> None:
    """rows: (organization_id, metric, period, quantity) actually inserted. Counters of
    the organization and of its ancestors' trees add up (if cached); a gauge's own key
    takes the last reading and its ancestors' tree keys are dropped (re-read later)."""
    chains: dict[int, list[int]] = {}
    counters: dict[str, int] = {}
    readings: dict[str, int] = {}
    stale: set[str] = set()
    for org_id, metric, period, quantity in rows:
        if org_id not in chains:
            chains[org_id] = ancestors(org_id)
        own = cache_keys.usage_counter(organization_id=org_id, metric=metric, period=period)
        trees = [cache_keys.usage_counter(organization_id=a, metric=metric, period=period, scope="tree")
                 for a in chains[org_id]]
        if metrics.is_gauge(metric):
            readings[own] = quantity
            stale.update(trees)
            continue
        for key in [own, *trees]:
            counters[key] = counters.get(key, 0) + quantity
    if counters:
        _incr_if_cached(counters)
    if readings:
        cache_keys.cache().set_many(readings, _ttl())
    if stale:
        cache_keys.cache().delete_many(list(stale))


def reset(*, key: str, value: int) -> None:
    cache_keys.cache().set(key, value, _ttl())


def forget(keys: list[str]) -> None:
    cache_keys.cache().delete_many(keys)
