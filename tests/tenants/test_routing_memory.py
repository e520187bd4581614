"""The resolver's process memory: a hit costs no network round trip; another process's
invalidation (the shared routing version) is seen within the poll interval."""

from __future__ import annotations

import time
import uuid

import pytest

from tenants import routing


@pytest.fixture
def polled(settings, monkeypatch):
    """Production's poll (tests run with 0: every lookup compares the version), on a clock the test moves."""
    settings.ORBIT_ROUTING_POLL_SECONDS = 1.0
    clock = [time.monotonic()]
    monkeypatch.setattr(routing.time, "monotonic", lambda: clock[0])
    routing.forget_memory()
    yield clock
    routing.forget_memory()


class CountingCache:
    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        attr = getattr(self.real, name)
        if callable(attr):
            def counted(*a, **kw):
                self.calls.append(name)
                return attr(*a, **kw)
            return counted
        return attr


def test_a_hit_costs_no_round_trip_and_no_query(db, tenant, polled, monkeypatch, django_assert_num_queries):
    host = tenant.domains.get(is_primary=True).domain
    assert routing.resolve_host(host) == tenant
    counting = CountingCache(routing._cache())
    monkeypatch.setattr(routing, "_cache", lambda: counting)
    with django_assert_num_queries(0):
        for _ in range(50):
            assert routing.resolve_host(host) == tenant
            assert routing.resolve_host_in_memory(host) == tenant
    assert counting.calls == []


def test_each_hit_is_a_copy(db, tenant, polled):
    host = tenant.domains.get(is_primary=True).domain
    first = routing.resolve_host(host)
    first.name = "changed by one request"
    assert routing.resolve_host(host).name == tenant.name


def test_another_process_invalidation_is_seen_within_the_poll(db, tenant, polled):
    host = tenant.domains.get(is_primary=True).domain
    assert routing.resolve_host(host).name == tenant.name
    # Another process renames the organization and invalidates: the shared entry goes, the version moves.
    type(tenant).objects.filter(pk=tenant.pk).update(name="Renomeada")
    routing._cache().delete(routing.host_cache_key(host))
    routing._cache().set(routing.VERSION_KEY, uuid.uuid4().hex, None)
    assert routing.resolve_host(host).name == tenant.name  # memory, until the poll
    assert routing.resolve_host_in_memory(host).name == tenant.name
    polled[0] += 1.5
    assert routing.resolve_host_in_memory(host) is routing.MISS  # due: the event loop hands it to a thread
    assert routing.resolve_host(host).name == "Renomeada"


def test_a_flushed_cache_drops_every_memory(db, tenant, polled):
    host = tenant.domains.get(is_primary=True).domain
    routing.resolve_host(host)
    type(tenant).objects.filter(pk=tenant.pk).update(name="Depois do flush")
    routing._cache().clear()
    polled[0] += 1.5
    assert routing.resolve_host(host).name == "Depois do flush"
