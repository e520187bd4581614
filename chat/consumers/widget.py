"""`/ws/widget/<inbox key>/?token=<visitor token>`: a visitor's socket.

The token (from POST /api/widget/<key>/sessions) names one contact of this inbox of this
tenant; the socket joins that contact's group and can only ever touch that contact's
conversations in this inbox. Private notes never reach it."""

from __future__ import annotations

from urllib.parse import parse_qs

from chat import selectors, services
from chat.consumers.base import ChatConsumer, FrameError, client_id_of, conversation_id, seq_of
from chat.realtime import events, groups
from chat.services.conversations import TYPING_STATES
from chat.services.visitors import visitor_from_token

REPLAY_LIMIT = 500


def _authenticate(key: str, token: str | None):
    try:
        inbox = selectors.inbox_by_key(public_key=key)
    except selectors.NotFound:
        return None
    contact_id = visitor_from_token(inbox=inbox, token=token)
    if contact_id is None:
        return None
    try:
        return inbox, selectors.contact_get(contact_id=contact_id)
    except selectors.NotFound:
        return None


def _own(inbox, contact, conversation: int):
    return selectors.conversation_for_contact(contact_id=contact.pk, inbox_id=inbox.pk, conversation_id=conversation)


def _replay(inbox, contact, conversation: int, after_seq: int) -> tuple[list[dict], bool]:
    return selectors.replay_frames(conversation=_own(inbox, contact, conversation), after_seq=after_seq,
                                   include_private=False, limit=REPLAY_LIMIT)


def _typing(organization, inbox, contact, conversation: int, state: str, channel_name: str) -> None:
    services.conversation_typing(organization=organization, conversation=_own(inbox, contact, conversation),
                                 typist=contact, state=state, skip=channel_name)


def _read(organization, inbox, contact, conversation: int, seq: int) -> int:
    return services.conversation_mark_read(organization=organization, conversation=_own(inbox, contact, conversation),
                                           reader=contact, seq=seq)


class WidgetConsumer(ChatConsumer):
    handlers = {
        "message.send": "on_send",
        "resume": "on_resume",
        "typing": "on_typing",
        "read": "on_read",
    }

    async def connect(self):
        self.group = None
        key = self.scope["url_route"]["kwargs"]["key"]
        token = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get("token", [None])[0]
        found = await self.db(_authenticate, key, token)
        if found is None:
            return await self.close(code=4001)
        self.tenant = self.scope["tenant"]
        self.inbox, self.contact = found
        self.access = selectors.contact_access(contact_id=self.contact.pk, inbox_id=self.inbox.pk)
        self.group = groups.visitor(self.tenant, self.contact.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def on_send(self, content):
        conv = conversation_id(content, nullable=True)
        if content.get("private"):
            raise FrameError("forbidden", "Visitors cannot write private notes.")
        sent = await services.message_send_async(
            organization=self.tenant, conversation_id=conv, access=self.access, sender=self.contact,
            body=content.get("body"), client_id=client_id_of(content), skip=self.channel_name, inbox=self.inbox,
        )
        await self.send_frame(events.message_ack(sent.message))

    async def on_resume(self, content):
        conv = conversation_id(content)
        frames, more = await self.db(_replay, self.inbox, self.contact, conv, seq_of(content, "after_seq"))
        await self.replay(conv, frames, more)

    async def on_typing(self, content):
        state = content.get("state")
        if state not in TYPING_STATES:
            raise FrameError("bad_frame", 'state must be "on" or "off"')
        await self.db(_typing, self.tenant, self.inbox, self.contact, conversation_id(content), state,
                      self.channel_name)

    async def on_read(self, content):
        await self.db(_read, self.tenant, self.inbox, self.contact, conversation_id(content), seq_of(content, "seq"))
