"""Running database work in a tenant's schema from async code.

Channels' `database_sync_to_async` runs the function in a worker thread whose
connection keeps whatever schema it was last set to; every consumer call therefore
sets the tenant's schema for the call and puts the public schema back afterwards.
The websocket consumers' hot path uses PooledTenantDatabase instead: a thread pool
whose calls all name their tenant, so the schema is kept between calls."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from django.db import connection

from orbit.lib.context import current_schema


def run_in_schema(tenant, func: Callable[..., Any], *args, **kwargs) -> Any:
    """Call func with the connection in tenant's schema, then leave it."""
    connection.set_tenant(tenant)
    token = current_schema.set(tenant.schema_name)
    try:
        return func(*args, **kwargs)
    finally:
        current_schema.reset(token)
        connection.set_schema_to_public()


def tenant_database_sync_to_async(func: Callable[..., Any]):
    """Decorate a consumer method: it runs in a database thread, in scope['tenant']'s schema."""

    @functools.wraps(func)
    async def wrapper(self, *args, **kwargs):
        return await database_sync_to_async(run_in_schema)(self.scope["tenant"], func, self, *args, **kwargs)

    return wrapper


_kept = threading.local()


def _enter_schema(tenant) -> None:
    """Point this thread's connection at tenant's schema, without a new `SET search_path`
    when the connection is already there (django-tenants forgets the applied path on
    close and rollback, so a kept one is still true)."""
    if (
        connection.schema_name == tenant.schema_name
        and connection.search_path_set_schemas
        and connection.include_public_schema
    ):
        connection.tenant = tenant
    else:
        connection.set_tenant(tenant)


def run_in_schema_kept(tenant, func: Callable[..., Any], *args, **kwargs) -> Any:
    """run_in_schema for threads that only ever run tenant-scoped calls (the websocket
    consumers' database pool): every call enters its tenant's schema first, so the path
    is not reset to public afterwards and the next call for the same tenant skips the
    `SET search_path` round trip."""
    _enter_schema(tenant)
    token = current_schema.set(tenant.schema_name)
    try:
        return func(*args, **kwargs)
    finally:
        current_schema.reset(token)


KEEP_SECONDS = 60  # how long a pooled database thread keeps a connection taken from the pool


def _connection_hygiene() -> None:
    """After a call on a pooled database thread: what Django's request cycle does with
    close_old_connections(), but only when something is wrong or the connection is old.
    Calling it every time (as channels' DatabaseSyncToAsync does, before and after each
    call) re-arms the health check, a `SELECT 1` round trip before every frame's query;
    and with Django's connection pool (CONN_MAX_AGE 0) it would hand the connection back
    after every frame, so the next one pays a checkout and a `SET search_path`."""
    if connection.connection is None:
        return
    if connection.errors_occurred or connection.in_atomic_block or not connection.get_autocommit():
        connection.close_if_unusable_or_obsolete()
        return
    if connection.pool is None:  # plain connections: CONN_MAX_AGE decides, as for requests
        if connection.close_at is not None and time.monotonic() >= connection.close_at:
            connection.close()
        return
    raw = connection.connection
    if getattr(_kept, "raw", None) is not raw:  # a connection this thread has just taken
        _kept.raw, _kept.since = raw, time.monotonic()
    elif time.monotonic() - _kept.since >= KEEP_SECONDS:
        connection.close()  # back to the pool, which ages and checks its connections
        _kept.raw = None


class PooledTenantDatabase(SyncToAsync):
    """Run database work for a tenant on the event loop's thread pool (not the single
    shared sync thread), each thread keeping its connection and its schema."""

    def __init__(self):
        super().__init__(run_in_schema_kept, thread_sensitive=False)

    def thread_handler(self, loop, *args, **kwargs):
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _connection_hygiene()
