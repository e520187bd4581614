"""`/ws/agent/`: an agent's socket (session cookie or personal API token).

On connect it joins the tenant's agents group (conversation list updates, presence,
filtered to what this agent may see) and counts as a presence connection. It receives a
conversation's messages, typing and read receipts once subscribed to it: `subscribe`,
`resume` and `message.send` subscribe; `unsubscribe` stops."""

from __future__ import annotations

import asyncio
import contextlib

from chat import selectors, services
from chat.consumers.base import ChatConsumer, FrameError, client_id_of, conversation_id, seq_of
from chat.realtime import events, groups
from chat.services import presence
from chat.services.conversations import TYPING_STATES
from tenants.websocket import api_token_from_scope

REPLAY_LIMIT = 500


def _connect(organization, user, channel_name: str) -> selectors.AgentScope:
    presence.presence_connect(organization=organization, user=user, connection_id=channel_name)
    return selectors.agent_scope(user=user)


def _ref(scope, conversation: int):
    return selectors.conversation_ref_for_agent(scope=scope, conversation_id=conversation)


def _beat(organization, user, channel_name: str, token: str | None) -> bool:
    """The periodic refresh: presence, and whether the socket may stay open."""
    if not selectors.agent_still_admitted(user=user, token=token):
        return False
    presence.presence_heartbeat(organization=organization, user=user, connection_id=channel_name)
    return True


def _check(scope, conversation: int) -> int:
    return _ref(scope, conversation).last_seq


def _replay(scope, conversation: int, after_seq: int) -> tuple[list[dict], bool]:
    return selectors.replay_frames(conversation=_ref(scope, conversation), after_seq=after_seq,
                                   include_private=True, limit=REPLAY_LIMIT)


def _typing(organization, scope, user, conversation: int, state: str, channel_name: str) -> None:
    services.conversation_typing(organization=organization, conversation=_ref(scope, conversation), typist=user,
                                 state=state, skip=channel_name)


def _read(organization, scope, user, conversation: int, seq: int) -> int:
    return services.conversation_mark_read(organization=organization, conversation=_ref(scope, conversation),
                                           reader=user, seq=seq)


class AgentConsumer(ChatConsumer):
    handlers = {
        "message.send": "on_send",
        "subscribe": "on_subscribe",
        "unsubscribe": "on_unsubscribe",
        "resume": "on_resume",
        "typing": "on_typing",
        "read": "on_read",
        "presence": "on_presence",
    }

    async def connect(self):
        self.user = self.scope.get("user")
        self.subscribed: set[int] = set()
        self.heartbeat = None
        if self.user is None or not self.user.is_authenticated:
            return await self.close(code=4001)
        self.tenant = self.scope["tenant"]
        self.scope_of_agent = await self.db(_connect, self.tenant, self.user, self.channel_name)
        await self.channel_layer.group_add(groups.agents(self.tenant), self.channel_name)
        await self.accept()
        self.heartbeat = asyncio.create_task(self._heartbeat())

    async def disconnect(self, code):
        if getattr(self, "heartbeat", None) is not None:
            self.heartbeat.cancel()
        user = getattr(self, "user", None)
        if user is None or not user.is_authenticated:
            return
        await self.channel_layer.group_discard(groups.agents(self.tenant), self.channel_name)
        for conv in self.subscribed:
            await self.channel_layer.group_discard(groups.conversation(self.tenant, conv), self.channel_name)
        await self.db(lambda: presence.presence_disconnect(organization=self.tenant, user=user,
                                                           connection_id=self.channel_name))

    async def _heartbeat(self):
        """Every HEARTBEAT seconds: refresh presence, and close the socket (4001) once its
        user is deactivated or its API token revoked — within one beat."""
        token = api_token_from_scope(self.scope) if self.scope.get("auth") == "token" else None
        while True:
            await asyncio.sleep(presence.HEARTBEAT)
            admitted = True
            with contextlib.suppress(Exception):  # a database or Redis hiccup: the next beat retries
                admitted = await self.db(_beat, self.tenant, self.user, self.channel_name, token)
            if not admitted:
                await self.close(code=4001)
                return

    def may_see(self, scope: dict) -> bool:
        return self.scope_of_agent.allows(
            inbox_id=scope.get("inbox"), team_id=scope.get("team"), assignee_id=scope.get("assignee")
        )

    async def join(self, conversation: int) -> None:
        if conversation not in self.subscribed:
            await self.channel_layer.group_add(groups.conversation(self.tenant, conversation), self.channel_name)
            self.subscribed.add(conversation)

    # --- frames ---------------------------------------------------------------------------

    async def on_send(self, content):
        conv = conversation_id(content)
        private = content.get("private", False)
        if not isinstance(private, bool):
            raise FrameError("bad_frame", "private must be true or false")
        sent = await services.message_send_async(
            organization=self.tenant, conversation_id=conv, access=self.scope_of_agent.access(), sender=self.user,
            body=content.get("body"), client_id=client_id_of(content), is_private=private, skip=self.channel_name,
        )
        await self.send_frame(events.message_ack(sent.message))
        await self.join(conv)

    async def on_subscribe(self, content):
        conv = conversation_id(content)
        await self.db(_check, self.scope_of_agent, conv)
        await self.join(conv)
        # Read after joining: nothing committed in between can fall through the gap.
        last_seq = await self.db(_check, self.scope_of_agent, conv)
        await self.send_frame({"type": "subscribed", "conversation": conv, "last_seq": last_seq})

    async def on_unsubscribe(self, content):
        conv = conversation_id(content)
        if conv in self.subscribed:
            await self.channel_layer.group_discard(groups.conversation(self.tenant, conv), self.channel_name)
            self.subscribed.discard(conv)
        await self.send_frame({"type": "unsubscribed", "conversation": conv})

    async def on_resume(self, content):
        conv = conversation_id(content)
        after = seq_of(content, "after_seq")
        await self.db(_check, self.scope_of_agent, conv)
        await self.join(conv)
        frames, more = await self.db(_replay, self.scope_of_agent, conv, after)
        await self.replay(conv, frames, more)

    async def on_typing(self, content):
        state = content.get("state")
        if state not in TYPING_STATES:
            raise FrameError("bad_frame", 'state must be "on" or "off"')
        await self.db(_typing, self.tenant, self.scope_of_agent, self.user, conversation_id(content), state,
                      self.channel_name)

    async def on_read(self, content):
        await self.db(_read, self.tenant, self.scope_of_agent, self.user, conversation_id(content),
                      seq_of(content, "seq"))

    async def on_presence(self, content):
        state = content.get("state")
        if state not in presence.STATES:
            raise FrameError("bad_frame", "state must be online, busy or offline")
        await self.db(lambda: presence.presence_set(organization=self.tenant, user=self.user, state=state))
