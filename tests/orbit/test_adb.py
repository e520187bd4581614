"""orbit.lib.adb: statements on the event loop, on connections of the loop's own pool."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from orbit.lib import adb


def backends(pids) -> set[int]:
    """Which of these server processes are still connected."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
        return {pid for (pid,) in cursor.fetchall()}


def pool_pids() -> set[int]:
    return {conn.info.backend_pid for conn in adb._pools[asyncio.get_running_loop()]._open}


async def test_a_statement_commits_on_its_own_and_reads_in_django_s_time_zone(live_db):
    await adb.fetchone("CREATE TABLE IF NOT EXISTS public.adb_probe (n int)", {})
    try:
        await adb.fetchone("INSERT INTO public.adb_probe (n) VALUES (%(n)s)", {"n": 7})

        def seen_by_django():
            with connection.cursor() as cursor:
                cursor.execute("SELECT n FROM public.adb_probe")
                return cursor.fetchall()

        assert await database_sync_to_async(seen_by_django)() == [(7,)]  # committed: autocommit
        (now,) = await adb.fetchone("SELECT now()", {})
        assert now.utcoffset().total_seconds() == 0 and str(now.tzinfo) == "UTC"
        assert await adb.fetchone("SELECT 1 WHERE false", {}) is None
    finally:
        await adb.fetchone("DROP TABLE public.adb_probe", {})


async def test_a_connection_the_server_dropped_is_replaced(live_db):
    assert await adb.fetchone("SELECT 1", {}) == (1,)
    (dropped,) = pool_pids()

    def terminate():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])

    await database_sync_to_async(terminate)()
    assert await adb.fetchone("SELECT 2", {}) == (2,)
    assert dropped not in pool_pids()


async def test_an_error_keeps_the_connection_and_the_pool_usable(live_db):
    assert await adb.fetchone("SELECT 1", {}) == (1,)
    (kept,) = pool_pids()
    with pytest.raises(Exception, match="adb_missing"):
        await adb.fetchone("SELECT * FROM adb_missing", {})
    assert await adb.fetchone("SELECT 3", {}) == (3,)
    assert pool_pids() == {kept}  # autocommit: a failed statement leaves the connection usable


async def test_concurrent_statements_stay_within_the_pool_size(live_db, settings):
    settings.ORBIT_DB_ASYNC_POOL_MAX = 2
    await adb.close()
    rows = await asyncio.gather(*(adb.fetchone("SELECT %(i)s::int, pg_sleep(0.05)", {"i": i}) for i in range(6)))
    assert [row[0] for row in rows] == list(range(6))
    assert len(pool_pids()) <= 2


def test_the_connections_close_with_their_loop(live_db):
    loop = asyncio.new_event_loop()

    async def use():
        await adb.fetchone("SELECT 1", {})
        return pool_pids()

    pids = loop.run_until_complete(use())
    assert pids and backends(pids) == pids
    loop.close()
    for _ in range(50):  # the server notices the disconnection on its own schedule
        if not backends(pids):
            break
        import time

        time.sleep(0.05)
    assert not backends(pids)
