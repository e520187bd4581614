"""Sending a message: THE one path (chat.services.messages.send has the whole story).

results: Sent, Outcome, MessageError · statement: the one statement per message and what its
row means · send: message_send, message_send_async, visitor_message_send, system_message ·
legacy: the deprecated message_send_checked(_async), for old tests."""

from chat.services.messages.legacy import message_send_checked, message_send_checked_async
from chat.services.messages.results import MAX_BODY, MessageError, Outcome, Sent, StoredFile
from chat.services.messages.send import (
    WAKE_AFTER,
    message_send,
    message_send_async,
    system_message,
    visitor_message_send,
)
from chat.services.messages.statement import parse_client_id, validate_body

__all__ = ["MAX_BODY", "WAKE_AFTER", "MessageError", "Outcome", "Sent", "StoredFile", "message_send",
           "message_send_async", "message_send_checked", "message_send_checked_async", "parse_client_id",
           "system_message", "validate_body", "visitor_message_send"]
