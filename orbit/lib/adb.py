"""Async database access on the event loop, for the websocket hot path's single statements.

Django's ORM is sync: a consumer's database call otherwise hops to a worker thread and
back (a future, a thread wake-up, the GIL handed over twice, a loop wake-up) for what is
one statement in autocommit. `fetchone()` runs it on a psycopg AsyncConnection from a
small pool owned by the running event loop instead: same database, same parameters and
adapters as Django's connection (settings.DATABASES["default"], its timezone), autocommit,
no schema of its own (callers qualify their tables: a pooled connection is shared by
every tenant of the process).

The pool is per event loop (uvicorn has one per process; tests one per test), at most
settings.ORBIT_DB_ASYNC_POOL_MAX connections, and is closed with its loop."""

from __future__ import annotations

import asyncio
import contextlib
import types
import weakref

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus

_pools: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop → its pool


def _connect_kwargs() -> dict:
    """Django's connection parameters for the default database, less its sync cursor class."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return params


async def _first_row(conn: AsyncConnection, sql: str, params: dict) -> tuple | None:
    cursor = await conn.execute(sql, params)
    return await cursor.fetchone() if cursor.description is not None else None


class _LoopPool:
    """Up to `size` autocommit connections, used by one event loop. No background task of
    its own (a loop's runner cancels those before the loop closes): connections are made on
    demand and closed with the loop."""

    def __init__(self, size: int):
        self._slots = asyncio.Semaphore(size)
        self._idle: list[AsyncConnection] = []
        self._open: set[AsyncConnection] = set()

    async def _new(self) -> AsyncConnection:
        conn = await AsyncConnection.connect(**_connect_kwargs(), autocommit=True)
        try:
            # The session's time zone is Django's (its adapters read timestamps in it).
            await conn.execute("SELECT set_config('TimeZone', %s, false)", [connection.timezone_name])
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._open.add(conn)
        return conn

    async def fetchone(self, sql: str, params: dict) -> tuple | None:
        async with self._slots:
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await self._new()
            try:
                return await self._run(conn, sql, params)
            except psycopg.OperationalError:
                if not reused:
                    raise
            # A kept connection the server dropped (restart, idle timeout): once more on a new
            # one. A statement that had committed before the drop is refused by its key then.
            return await self._run(await self._new(), sql, params)

    async def _run(self, conn: AsyncConnection, sql: str, params: dict) -> tuple | None:
        """The statement's first row; the connection goes back to the pool if it is still
        usable afterwards (an error in autocommit leaves it so: a refused resend, bad data)."""
        try:
            return await _first_row(conn, sql, params)
        finally:
            if not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
                self._idle.append(conn)
            else:
                await self._discard(conn)

    async def _discard(self, conn: AsyncConnection) -> None:
        self._open.discard(conn)
        with contextlib.suppress(Exception):
            await conn.close()

    async def close(self) -> None:
        self._idle.clear()
        for conn in list(self._open):
            await self._discard(conn)


def _close_with(loop: asyncio.AbstractEventLoop, pool: _LoopPool) -> None:
    """Close the pool when its loop closes (as channels-redis does for its connections), so no
    connection outlives the loop that could have closed it."""
    original = loop.close

    def close(self, *args, **kwargs):
        if _pools.get(self) is pool:
            del _pools[self]
            if not self.is_closed() and not self.is_running():
                self.run_until_complete(pool.close())
        self.close = original
        return original(*args, **kwargs)

    loop.close = types.MethodType(close, loop)


def _pool() -> _LoopPool:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = _LoopPool(settings.ORBIT_DB_ASYNC_POOL_MAX)
        _close_with(loop, pool)
    return pool


async def fetchone(sql: str, params: dict) -> tuple | None:
    """Run one statement (its own transaction: autocommit) and return its first row (None
    when it returns none, or no rows at all)."""
    return await _pool().fetchone(sql, params)


async def close() -> None:
    """Close the running loop's connections now (tests; a clean shutdown)."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()
