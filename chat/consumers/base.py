"""What the agent and widget sockets share: frame parsing, errors, database hops, group events.

Per-message cost is what the DESIGN numbers are about, so this base skips two things
Channels does per event: the hop into the shared sync thread to close old connections
on every dispatch (our database calls do that in their own thread), and JSON encoding
per recipient (events arrive already serialized). Database work runs through
orbit.lib.tenancy.in_schema (pooled threads that keep their connection and schema); a
message's one statement runs on the event loop (chat.services.message_send_async)."""

from __future__ import annotations

import json
import logging
import time
import uuid

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext as _

from chat.realtime import events
from orbit.lib.channel_layer import SKIP_KEY
from orbit.lib.errors import OrbitError, ws_error_frame
from orbit.lib.ratelimit.frames import TokenBucket
from orbit.lib.tenancy import in_schema
from orbit.lib.text import unstorable

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS = 32_000  # a 5,000-character body escaped, plus the envelope


class FrameError(OrbitError):
    """A frame that does not parse as the protocol says (its code goes into the error frame)."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)


def frame_ref(content: dict):
    """The frame's ref (or client_id), echoed in its answer: only one that can be sent back
    as it came (a lone surrogate cannot be written as UTF-8)."""
    ref = content.get("ref", content.get("client_id"))
    if isinstance(ref, str) and unstorable(ref):
        return None
    return ref if isinstance(ref, (str, int)) and not isinstance(ref, bool) and len(str(ref)) <= 100 else None


def conversation_id(content: dict, *, nullable: bool = False) -> int | None:
    value = content.get("conversation")
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise FrameError("bad_frame", "conversation must be a conversation id")
    return value


def seq_of(content: dict, key: str) -> int:
    value = content.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError("bad_frame", f"{key} must be a non-negative integer")
    return value


def client_id_of(content: dict) -> str:
    try:
        return str(uuid.UUID(str(content.get("client_id"))))
    except ValueError:
        raise FrameError("bad_frame", "client_id must be a UUID") from None


class FrameLimiter(TokenBucket):
    """A socket's frame limit (orbit.lib.ratelimit's token bucket; the settings' rate and
    burst unless given) with chat's error frame:

        error = limiter.check(ref=frame.get("client_id"))
        if error:
            await self.send_frame(error)     # {"type": "error", "code": "rate_limited", ...}
    """

    def __init__(self, rate: float | None = None, burst: int | None = None, *, clock=time.monotonic):
        super().__init__(rate if rate is not None else settings.BILLING_WS_FRAMES_PER_SECOND,
                         burst if burst is not None else settings.BILLING_WS_FRAME_BURST, clock=clock)

    def check(self, ref=None, cost: float = 1.0) -> dict | None:
        """None when the frame may go on; else the error frame to send back (the connection stays)."""
        if self.allow(cost):
            return None
        wait = self.retry_after(cost)
        message = _("Muitas mensagens em pouco tempo. Aguarde %(seconds).1f s.") % {"seconds": wait}
        return {**ws_error_frame("rate_limited", message, ref), "retry_after": round(wait, 3)}


class ChatConsumer(AsyncWebsocketConsumer):
    handlers: dict[str, str] = {}  # frame type → method name

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def db(self, func, *args, **kwargs):
        """Run func in a database thread, in this socket's tenant schema."""
        return await in_schema(self.scope["tenant"], func, *args, **kwargs)

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=events.dumps(frame))

    async def send_error(self, code: str, message: str, ref=None) -> None:
        await self.send_frame(ws_error_frame(code, message, ref))

    def rate_limit(self, ref) -> dict | None:
        """Per-connection frame limit (a token bucket in memory): None, or the error frame."""
        limiter = getattr(self, "limiter", None)
        if limiter is None:
            limiter = self.limiter = FrameLimiter()
        return limiter.check(ref=ref)

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            return await self.send_error("bad_frame", "Binary frames are not accepted; send JSON text.")
        if len(text_data) > MAX_FRAME_CHARS:
            return await self.send_error("too_long", "The frame is too large; nothing was stored.")
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # nested past the parser's depth: bad JSON too
            return await self.send_error("bad_frame", "The frame is not valid JSON.")
        if not isinstance(content, dict):
            return await self.send_error("bad_frame", "A frame is a JSON object with a type.")
        ref = frame_ref(content)
        if (limited := self.rate_limit(ref)) is not None:
            return await self.send_frame(limited)
        method = self.handlers.get(content.get("type")) if isinstance(content.get("type"), str) else None
        if method is None:
            return await self.send_error("bad_frame", f"Unknown frame type {content.get('type')!r}.", ref)
        try:
            await getattr(self, method)(content)
        except OrbitError as exc:  # a bad frame, not found, refused by the plan: the connection stays
            await self.send_frame(ws_error_frame(exc, ref=ref))
        except Exception:
            logger.exception("websocket frame %s failed", content.get("type"))
            await self.send_error("internal", "Something went wrong; nothing was stored. Try again.", ref)

    # --- group events -------------------------------------------------------------------

    def may_see(self, scope: dict) -> bool:
        return True

    async def chat_frame(self, event):
        if event.get(SKIP_KEY) == self.channel_name:  # the layer already drops it; a direct send may not
            return
        scope = event.get("scope")
        if scope is not None and not self.may_see(scope):
            return
        await self.send(text_data=event["text"])

    async def replay(self, conversation: int, frames: list[dict], more: bool) -> None:
        for frame in frames:
            await self.send_frame(frame)
        await self.send_frame({"type": "resume.done", "conversation": conversation, "more": more})
