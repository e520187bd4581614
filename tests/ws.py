"""Websocket test helpers shared by every consumer test."""

from __future__ import annotations

import json

from asgiref.testing import ApplicationCommunicator

from orbit.asgi import application


class WebsocketCommunicator(ApplicationCommunicator):
    """channels.testing.WebsocketCommunicator's interface, on asgiref's communicator.

    channels.testing cannot be imported here: its package imports daphne, which Orbit
    does not install (uvicorn serves it). Unlike Channels' version, this one keeps
    close_old_connections real: these tests run on committed data, as in production."""

    def __init__(self, application, path: str, headers=None, scheme: str = "ws"):
        path, _, query = path.partition("?")
        scope = {
            "type": "websocket",
            "scheme": scheme,
            "path": path,
            "query_string": query.encode(),
            "headers": headers or [],
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout=5):
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept"
        return True, response.get("subprotocol")

    async def send_to(self, text_data=None, bytes_data=None):
        if text_data is not None:
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data):
        await self.send_to(text_data=json.dumps(data))

    async def receive_json_from(self, timeout=5):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def disconnect(self, code=1000, timeout=5):
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


def primary_host(organization) -> str:
    return organization.domains.get(is_primary=True).domain


def communicator(
    host: str,
    *,
    origin: str | None = "same",
    cookie: str | None = None,
    path="/ws/ping/",
    extra_headers=(),
    scheme: str = "ws",
):
    """A socket to `host`; scheme "wss" is a socket over TLS ("same" origin: https://host)."""
    headers = [(b"host", host.encode()), *extra_headers]
    if origin == "same":
        origin = f"{'https' if scheme == 'wss' else 'http'}://{host}"
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers, scheme=scheme)


async def ping(comm) -> dict:
    await comm.send_json_to({"type": "ping"})
    return await comm.receive_json_from(timeout=5)


async def receive_until(comm, frame_type: str, timeout=5) -> dict:
    """The next frame of frame_type, skipping others (presence, conversation.updated…)."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame.get("type") == frame_type:
            return frame
