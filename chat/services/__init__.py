"""Chat's writers. The only place that sends realtime events and enqueues tasks (after commit).
Every service takes the organization it acts for (`organization=`); services read through
chat.selectors, never the other way round.

Import from here: `from chat import services; services.message_send(...)`."""

from chat.services.assignment import (
    AssignmentError,
    assignment_auto,
    assignment_queue_drain,
    conversation_assign,
    conversation_transfer,
)
from chat.services.attachments import UploadError, file_discard, file_store
from chat.services.conversations import (
    ConversationError,
    conversation_labels_add,
    conversation_labels_remove,
    conversation_mark_read,
    conversation_open,
    conversation_set_priority,
    conversation_set_status,
    conversation_typing,
    conversations_auto_resolve,
)
from chat.services.messages import (
    MAX_BODY,
    MessageError,
    Outcome,
    Sent,
    StoredFile,
    message_send,
    message_send_async,
    message_send_checked,
    message_send_checked_async,
    system_message,
    visitor_message_send,
)
from chat.services.presence import presence_connect, presence_disconnect, presence_set, presence_settle
from chat.services.usage import LimitReached

__all__ = [
    "MAX_BODY",
    "AssignmentError",
    "ConversationError",
    "LimitReached",
    "MessageError",
    "Outcome",
    "Sent",
    "StoredFile",
    "UploadError",
    "assignment_auto",
    "assignment_queue_drain",
    "conversation_assign",
    "conversation_labels_add",
    "conversation_labels_remove",
    "conversation_mark_read",
    "conversation_open",
    "conversation_set_priority",
    "conversation_set_status",
    "conversation_transfer",
    "conversation_typing",
    "conversations_auto_resolve",
    "file_discard",
    "file_store",
    "message_send",
    "message_send_async",
    "message_send_checked",
    "message_send_checked_async",
    "presence_connect",
    "presence_disconnect",
    "presence_set",
    "presence_settle",
    "system_message",
    "visitor_message_send",
]
