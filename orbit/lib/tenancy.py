"""THE way to run database work in a tenant's schema from async code: `await in_schema(tenant, func, *args)`.

It runs `func` on the event loop's thread pool (not the single shared sync thread), each
thread keeping its persistent connection and its schema between calls: every call names its
tenant (None: the public schema), so a thread's path is only changed when the next call is for
another schema. The websocket middlewares and consumers and the ASGI edge use it; the one
statement a websocket message costs runs on the event loop itself (`orbit.lib.adb`, tables
named with their schema)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import SyncToAsync
from django.db import connection
from django_tenants.utils import get_public_schema_name, get_tenant_model

from orbit.lib.context import current_schema

_kept = threading.local()


def _enter_schema(tenant) -> None:
    """Point this thread's connection at tenant's schema (None: public), without a new
    `SET search_path` when the connection is already there (django-tenants forgets the
    applied path on close and rollback, so a kept one is still true)."""
    if tenant is None:
        if connection.schema_name != get_public_schema_name():
            connection.set_schema_to_public()
        return
    if (
        connection.schema_name == tenant.schema_name
        and connection.search_path_set_schemas
        and connection.include_public_schema
    ):
        connection.tenant = tenant
    else:
        connection.set_tenant(tenant)


def run_in_schema_kept(tenant, func: Callable[..., Any], *args, **kwargs) -> Any:
    """Call func in tenant's schema (None: public) on a thread that only ever runs calls that
    name their schema (the pool below): every call enters its schema first, so the path is
    not reset afterwards and the next call for the same tenant skips the `SET search_path`
    round trip."""
    _enter_schema(tenant)
    token = current_schema.set(tenant.schema_name if tenant is not None else "public")
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


_pooled = PooledTenantDatabase()


async def in_schema(tenant, func: Callable[..., Any], *args, **kwargs) -> Any:
    """Run the sync func(*args, **kwargs) in tenant's schema (None: public) on a pooled
    database thread, from async code; returns what it returns."""
    return await _pooled(tenant, func, *args, **kwargs)


def current_organization():
    """The organization the connection is in (set by the middleware, a database thread of a
    consumer, or a task's schema header), for callers that were not handed one. Services take
    the organization as an argument; this is only their callers' fallback."""
    tenant = connection.tenant
    if getattr(tenant, "pk", None) is None:  # schema_context() sets a stand-in without a row
        tenant = get_tenant_model().objects.get(schema_name=connection.schema_name)
        connection.tenant = tenant
    return tenant
