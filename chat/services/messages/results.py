"""What sending a message answers: the typed result (`Sent`, its `Outcome`) and the refusal
(`MessageError`, an OrbitError whose code goes into the error frame or envelope)."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from chat.models import Message
from orbit.lib.errors import OrbitError

MAX_BODY = 5000


class MessageError(OrbitError, ValueError):
    """A message that cannot be stored; `code` goes into the error frame or envelope."""

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)


def not_found() -> MessageError:
    return MessageError("not_found", "Conversation not found.")


@dataclass(frozen=True)
class StoredFile:
    """An upload already sniffed and saved (chat.services.attachments.file_store)."""

    name: str
    kind: str
    content_type: str
    size: int
    original_name: str


class Outcome(enum.StrEnum):
    STORED = "stored"  # a new message in an existing conversation
    OPENED = "opened"  # a visitor's first message: a new conversation (or their current one) found
    REOPENED = "reopened"  # a visitor's message to their resolved conversation, which is open again
    DUPLICATE = "duplicate"  # a resend of a client_id: `message` is the original


@dataclass(frozen=True)
class Sent:
    """What a send did. Unpacks as the (message, created) pair older callers expect."""

    message: Message
    outcome: Outcome

    @property
    def created(self) -> bool:
        return self.outcome is not Outcome.DUPLICATE

    def __iter__(self) -> Iterator:
        return iter((self.message, self.created))

    def __getitem__(self, index: int):
        return (self.message, self.created)[index]
