"""Running database work in a tenant's schema from async code.

Channels' `database_sync_to_async` runs the function in a worker thread whose
connection keeps whatever schema it was last set to; every consumer call therefore
sets the tenant's schema for the call and puts the public schema back afterwards."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

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
