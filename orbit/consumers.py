"""Diagnostic websocket: `/ws/ping/` answers which tenant, schema and user it sees.

It proves the websocket plumbing end to end: the tenant resolved from the Host, the
user from the session cookie in that tenant's schema, and a consumer's database call
running in the tenant's schema (and leaving it afterwards)."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model
from django.db import connection

from orbit.lib.tenancy import in_schema


class PingConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            return await self.send_error("bad_frame", "Binary frames are not accepted; send JSON text.")
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # nested past the parser's depth: bad JSON too
            return await self.send_error("bad_frame", "The frame is not valid JSON.")
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "ping":
            return await self.send_error("bad_frame", 'Unknown frame; expected {"type": "ping"}.')
        user = self.scope.get("user")
        await self.send_json(
            {
                "type": "pong",
                "tenant": self.scope["tenant"].slug,
                "schema": await in_schema(self.scope["tenant"], self.schema_seen),
                "user": user.email if user is not None and user.is_authenticated else None,
            }
        )

    async def send_error(self, code: str, message: str):
        await self.send_json({"type": "error", "code": code, "message": message})

    @staticmethod
    def schema_seen() -> str:
        """The schema a database call of this consumer runs in, as PostgreSQL sees it."""
        get_user_model().objects.count()  # an ORM query through the tenant's search_path
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            (schema,) = cursor.fetchone()
        return schema
