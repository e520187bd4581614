"""Server → client frames, and publishing them to groups after commit.

Frames are serialized once here, not once per recipient: the group event carries the
JSON text and a consumer forwards it as is. Publishing is fire-and-forget on the
server's event loop when the service runs in a consumer's database thread (no thread
hop waits on Redis), and a plain blocking send elsewhere (HTTP views, Celery).
Delivery never depends on this: PostgreSQL is the record and clients resume on a seq gap."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from datetime import datetime

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from orbit.lib.channel_layer import SKIP_KEY

logger = logging.getLogger(__name__)

# The handler name consumers implement ("chat.frame" → chat_frame).
EVENT_TYPE = "chat.frame"

_pending: set[asyncio.Task] = set()


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dumps(frame: dict) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


# --- frames ---------------------------------------------------------------------------


def person_ref(*, user_id: int | None, name: str, email: str) -> dict | None:
    """How a user appears in frames (and the REST API): id and a display name."""
    if user_id is None:
        return None
    return {"id": user_id, "name": name or email.split("@")[0]}


def user_ref(user) -> dict | None:
    if user is None:
        return None
    return person_ref(user_id=user.pk, name=user.name, email=user.email)


def sender_ref(*, sender_type: str, user=None, contact_id: int | None = None) -> dict:
    ref = {"type": sender_type}
    if user is not None:
        ref.update(user_ref(user))
    elif contact_id is not None:
        ref["id"] = contact_id
    return ref


def message_new(message, *, sender: dict, attachments: list[dict]) -> dict:
    return {
        "type": "message.new",
        "conversation": message.conversation_id,
        "id": message.pk,
        "seq": message.seq,
        "client_id": str(message.client_id),
        "body": message.body,
        "private": message.is_private,
        "sender": sender,
        "attachments": attachments,
        "created_at": iso(message.created_at),
    }


def message_ack(message) -> dict:
    return {
        "type": "message.ack",
        "client_id": str(message.client_id),
        "id": message.pk,
        "seq": message.seq,
        "conversation": message.conversation_id,
    }


def conversation_updated(conversation, *, for_visitor: bool = False) -> dict:
    frame = {
        "type": "conversation.updated",
        "conversation": conversation.pk,
        "status": conversation.status,
        "assignee": user_ref(conversation.assignee),
        "last_seq": conversation.last_seq,
    }
    if not for_visitor:
        frame.update(
            {
                "inbox": conversation.inbox_id,
                "contact": conversation.contact_id,
                "team": {"id": conversation.team.pk, "name": conversation.team.name} if conversation.team else None,
                "priority": conversation.priority,
                "labels": sorted(label.name for label in conversation.labels.all()),
                "queued": conversation.queued_at is not None,
                "last_activity_at": iso(conversation.last_activity_at),
            }
        )
    return frame


def conversation_activity(message) -> dict:
    """A quiet conversation woke up (a visitor wrote): agents' lists move it to the top."""
    return {
        "type": "conversation.activity",
        "conversation": message.conversation_id,
        "last_seq": message.seq,
        "last_activity_at": iso(message.created_at),
    }


def typing(*, conversation_id: int, state: str, sender: dict) -> dict:
    return {"type": "typing", "conversation": conversation_id, "state": state, "sender": sender}


def read(*, conversation_id: int, seq: int, sender: dict) -> dict:
    return {"type": "read", "conversation": conversation_id, "seq": seq, "sender": sender}


def presence(*, agent_id: int, state: str) -> dict:
    return {"type": "presence", "agent": agent_id, "state": state}


def error(*, code: str, message: str, ref=None) -> dict:
    return {"type": "error", "code": code, "message": message, "ref": ref}


# --- publishing -----------------------------------------------------------------------


def _event(frame: dict, skip: str | None, scope: dict | None) -> dict:
    event = {"type": EVENT_TYPE, "text": dumps(frame)}
    if skip:
        event[SKIP_KEY] = skip  # the sender's own socket: the layer does not deliver it there
    if scope:
        event["scope"] = scope  # who may see it, for the agents group (consumers filter)
    return event


async def _send_all(sends: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    try:
        await layer.group_send_many(sends)  # orbit.lib.channel_layer: one round trip for all
    except Exception:  # noqa: BLE001 — a lost notification is recovered by resume
        logger.exception("group_send to %s failed", ", ".join(group for group, _ in sends))


def _start(loop: asyncio.AbstractEventLoop, sends: list[tuple[str, dict]]) -> None:
    """The sends as a task of their own on loop (kept referenced until done)."""
    task = loop.create_task(_send_all(sends))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def _dispatch(sends: list[tuple[str, dict]]) -> None:
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        # In a consumer's database thread: hand the sends to the server's loop and return.
        loop.call_soon_threadsafe(_start, loop, sends)
    else:
        async_to_sync(_send_all)(sends)


def publish_soon(groups: Iterable[tuple[str, dict]], *, skip: str | None = None, scope: dict | None = None) -> None:
    """publish() on the event loop, for a statement that has already committed outside
    Django's transactions (orbit.lib.adb): a task of its own, so the caller's ack never waits
    on Redis (delivery never depends on it: clients resume on a seq gap)."""
    sends = [(group, _event(frame, skip, scope)) for group, frame in groups]
    if sends:
        _start(asyncio.get_running_loop(), sends)


def publish(groups: Iterable[tuple[str, dict]], *, skip: str | None = None, scope: dict | None = None) -> None:
    """Send (group, frame) pairs once the current transaction commits (at once outside one).

    skip: a channel name that should not get its own echo; scope: {"inbox", "team",
    "assignee"} of the conversation, so an agent socket drops what its agent may not see."""
    sends = [(group, _event(frame, skip, scope)) for group, frame in groups]
    if sends:
        transaction.on_commit(lambda: _dispatch(sends))
