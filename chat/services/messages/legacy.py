"""Deprecated: the old two-step API (statement, then a full path on None), kept for the tests
written against it. New code calls message_send / message_send_async."""

from __future__ import annotations

from chat.selectors import Access
from chat.services.messages.results import MessageError, Outcome, Sent
from chat.services.messages.send import _stored, message_send_async
from chat.services.messages.statement import _draft, _outcome, _Reopen, _run
from orbit.lib.tenancy import current_organization


def message_send_checked(
    *, organization=None, conversation_id: int, access: Access, sender, body: str, client_id,
    is_private: bool = False, skip: str | None = None,
) -> Sent | None:
    """The statement with an access check on Django's connection; None when it stored
    nothing for a missing, foreign or resolved conversation (message_send_async decides
    those itself). Deprecated: tests only."""
    organization = organization if organization is not None else current_organization()
    draft = _draft(organization=organization, sender=sender, sender_type=None, body=body, client_id=client_id,
                   is_private=is_private)
    row = _run(draft, conversation_id=conversation_id, access=access)
    try:
        message, outcome = _outcome(draft, row, conversation_id=conversation_id)
    except (_Reopen, MessageError):
        return None
    if outcome is Outcome.STORED:
        _stored(draft, row, message, (), skip=skip)
    return Sent(message, outcome)


async def message_send_checked_async(*, organization, conversation_id: int, access: Access, sender, body,
                                     client_id, is_private: bool = False, skip: str | None = None) -> Sent | None:
    """message_send_async for a known conversation, None instead of a duplicate, a reopen or
    not found. Deprecated: tests only."""
    try:
        sent = await message_send_async(organization=organization, conversation_id=conversation_id, access=access,
                                        sender=sender, body=body, client_id=client_id, is_private=is_private,
                                        skip=skip)
    except MessageError as exc:
        if exc.code == "not_found":
            return None
        raise
    return sent if sent.created else None
