"""Socket helpers for the chat consumer tests."""

from __future__ import annotations

import uuid

from channels.db import database_sync_to_async
from django_tenants.utils import tenant_context

from tests.ws import communicator


def agent_socket(world, *, token: str | None = None, host: str | None = None, header: bool = False, **kw):
    token = world.token if token is None else token
    if header:
        return communicator(host or world.host, path="/ws/agent/", extra_headers=[(b"authorization", f"Bearer {token}".encode())], **kw)
    return communicator(host or world.host, path=f"/ws/agent/?token={token}", **kw)


def widget_socket(world, *, token: str | None = None, key: str | None = None, host: str | None = None, **kw):
    token = world.visitor_token if token is None else token
    key = world.inbox.public_key if key is None else key
    return communicator(host or world.host, path=f"/ws/widget/{key}/?token={token}", **kw)


async def connected(comm):
    ok, _ = await comm.connect()
    assert ok, "the socket was refused"
    return comm


def send_frame(conversation, body="olá", client_id=None, **extra):
    return {"type": "message.send", "conversation": conversation, "client_id": client_id or str(uuid.uuid4()), "body": body, **extra}


def in_tenant(organization, func):
    """Run func(…) in a database thread, in organization's schema."""

    def run(*args, **kwargs):
        with tenant_context(organization):
            return func(*args, **kwargs)

    return database_sync_to_async(run)
