"""orbit.lib.tenancy.PooledTenantDatabase: the websocket consumers' database threads keep
their schema between calls, yet every call runs in its own tenant's schema."""

from __future__ import annotations

import asyncio
import concurrent.futures

from django.db import connection
from django.test.utils import CaptureQueriesContext

from orbit.lib.tenancy import PooledTenantDatabase


def _where_am_i() -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    connection.close_at = None  # kept, as in production (CONN_MAX_AGE > 0); tests' age is 0
    return schema, [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SET")]


def _on_one_thread(calls):
    async def run():
        loop = asyncio.get_running_loop()
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        loop.set_default_executor(executor)
        try:
            pooled = PooledTenantDatabase()
            return [await pooled(tenant, _where_am_i) for tenant in calls]
        finally:
            await loop.run_in_executor(None, lambda: connection.close())
            executor.shutdown()

    return asyncio.run(run())


def test_alternating_tenants_each_run_in_their_own_schema(live_db, tenant, other_tenant):
    calls = [tenant, other_tenant, other_tenant, tenant, tenant, other_tenant]
    results = _on_one_thread(calls)
    assert [schema for schema, _ in results] == [t.schema_name for t in calls]
    # A switch sets the path; a repeat for the same tenant keeps it (no round trip).
    sets = [bool(s) for _, s in results]
    assert sets == [True, True, False, True, False, True]


def test_a_connection_with_an_error_is_checked_and_replaced(live_db, tenant):
    def broken():
        with connection.cursor() as cursor:
            connection.close_at = None
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    async def run():
        loop = asyncio.get_running_loop()
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        loop.set_default_executor(executor)
        pooled = PooledTenantDatabase()
        try:
            try:
                await pooled(tenant, broken)
            except Exception:  # noqa: BLE001 — the server killed the connection mid-call
                pass
            return await pooled(tenant, _where_am_i)
        finally:
            await loop.run_in_executor(None, lambda: connection.close())
            executor.shutdown()

    schema, sets = asyncio.run(run())
    assert schema == tenant.schema_name and sets  # a new connection, its path set again


class _StubConnection:
    """The parts of a DatabaseWrapper _connection_hygiene() looks at."""

    def __init__(self, *, pool=True, errors=False):
        self.connection = object()
        self.pool = object() if pool else None
        self.errors_occurred = errors
        self.in_atomic_block = False
        self.close_at = None
        self.closed = self.checked = 0

    def get_autocommit(self):
        return True

    def close(self):
        self.closed += 1
        self.connection = None

    def close_if_unusable_or_obsolete(self):
        self.checked += 1


def test_a_pooled_thread_keeps_its_connection_until_it_is_old(monkeypatch):
    from orbit.lib import tenancy

    stub = _StubConnection()
    monkeypatch.setattr(tenancy, "connection", stub)
    clock = [1000.0]
    monkeypatch.setattr(tenancy.time, "monotonic", lambda: clock[0])
    tenancy._kept.raw = None
    for _ in range(3):
        tenancy._connection_hygiene()
        clock[0] += 10
    assert stub.closed == 0 and stub.checked == 0  # kept: no checkout, no SET per frame
    clock[0] += tenancy.KEEP_SECONDS
    tenancy._connection_hygiene()
    assert stub.closed == 1  # handed back to the pool, which ages and checks connections


def test_a_connection_with_errors_is_checked_at_once(monkeypatch):
    from orbit.lib import tenancy

    stub = _StubConnection(errors=True)
    monkeypatch.setattr(tenancy, "connection", stub)
    tenancy._connection_hygiene()
    assert stub.checked == 1
