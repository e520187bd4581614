"""Sending messages: the hot path. One short transaction per message.

The seq bump and the insert are one statement: `UPDATE conversation SET last_seq =
last_seq + 1 … RETURNING` takes the conversation's row lock, so concurrent senders queue
on it and seqs are dense and in commit order; the insert rides on the same statement and
`ON CONFLICT (conversation, client_id) DO NOTHING` makes a resend return the original
(the transaction is rolled back so the bump never leaves a gap). The message's usage-ledger
row rides on the same statement too (billing.meters.keyed_insert): one round trip, and the
count commits or rolls back with the message, exactly once per message."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from chat.models import Attachment, Contact, Conversation, Message
from chat.realtime import events, groups
from chat.services import usage

MAX_BODY = 5000


class MessageError(ValueError):
    """A message that cannot be stored; `code` goes into the error frame."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StoredFile:
    """An upload already sniffed and saved (chat.services.attachments.file_store)."""

    name: str
    kind: str
    content_type: str
    size: int
    original_name: str


class _Duplicate(Exception):
    pass


_SEND_SQL = """
WITH bump AS (
    UPDATE {conv}
       SET last_seq = last_seq + 1,
           last_activity_at = %(now)s,
           first_reply_at = CASE WHEN %(is_reply)s AND first_reply_at IS NULL THEN %(now)s ELSE first_reply_at END
     WHERE id = %(conversation)s
 RETURNING id, last_seq
), ins AS (
    INSERT INTO {msg} (conversation_id, seq, sender_type, sender_user_id, body, is_private, client_id, created_at)
    SELECT bump.id, bump.last_seq, %(sender_type)s, %(sender_user)s, %(body)s, %(is_private)s, %(client_id)s, %(now)s
      FROM bump
    ON CONFLICT (conversation_id, client_id) DO NOTHING
    RETURNING id, seq
), metered AS (
    {usage}
)
SELECT ins.id, ins.seq, (SELECT count(*) FROM metered) FROM ins
"""
_sql_cache: dict[tuple[str, str], str] = {}


def _sql(usage_sql: str) -> str:
    """The statement for this schema's tables (the ledger part is the same for every tenant)."""
    key = (connection.schema_name, usage_sql)
    sql = _sql_cache.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        sql = _SEND_SQL.format(conv=qn(Conversation._meta.db_table), msg=qn(Message._meta.db_table), usage=usage_sql)
        if len(_sql_cache) > 64:
            _sql_cache.clear()
        _sql_cache[key] = sql
    return sql


def _sender(sender, sender_type: str | None) -> tuple[str, object | None, int | None]:
    """(sender_type, user, contact_id) from a User, a Contact or None (system)."""
    if isinstance(sender, Contact):
        return Message.Sender.CONTACT, None, sender.pk
    if sender is None:
        return sender_type or Message.Sender.SYSTEM, None, None
    return sender_type or Message.Sender.AGENT, sender, None


def validate_body(body, *, has_attachments: bool = False) -> str:
    if not isinstance(body, str):
        raise MessageError("bad_frame", "body must be a string")
    if len(body) > MAX_BODY:
        raise MessageError("too_long", f"The message is longer than {MAX_BODY} characters; nothing was stored.")
    if not body.strip() and not has_attachments:
        raise MessageError("empty", "The message is empty.")
    return body


def parse_client_id(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        raise MessageError("bad_frame", "client_id must be a UUID") from None


def message_send(
    *,
    conversation: Conversation,
    sender,
    body: str,
    client_id: uuid.UUID | str,
    is_private: bool = False,
    attachments: Sequence[StoredFile] = (),
    sender_type: str | None = None,
) -> tuple[Message, bool]:
    """Store a message; (message, created). A resend of client_id returns the original, created False.

    sender is the agent (User), the Contact, or None for a system message; sender_type
    may say "bot" for an API user. Contacts cannot write private notes."""
    kind, user, contact_id = _sender(sender, sender_type)
    if kind == Message.Sender.CONTACT and is_private:
        raise MessageError("forbidden", "Visitors cannot write private notes.")
    body = validate_body(body, has_attachments=bool(attachments))
    client_id = parse_client_id(client_id)
    now = timezone.now()
    is_reply = kind in (Message.Sender.AGENT, Message.Sender.BOT) and not is_private
    meter = usage.message_meter(now=now)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    _sql(meter.sql),
                    {
                        **meter.params,
                        "now": now,
                        "is_reply": is_reply,
                        "conversation": conversation.pk,
                        "sender_type": kind,
                        "sender_user": user.pk if user is not None else None,
                        "body": body,
                        "is_private": is_private,
                        "client_id": client_id,
                    },
                )
                row = cursor.fetchone()
            if row is None:
                raise _Duplicate
            meter.inserted(row[2])
            message = Message(
                pk=row[0],
                conversation_id=conversation.pk,
                seq=row[1],
                sender_type=kind,
                sender_user=user,
                body=body,
                is_private=is_private,
                client_id=client_id,
                created_at=now,
            )
            stored = [
                Attachment(
                    message=message,
                    kind=f.kind,
                    file=f.name,
                    content_type=f.content_type,
                    size=f.size,
                    original_name=f.original_name,
                )
                for f in attachments
            ]
            if stored:
                Attachment.objects.bulk_create(stored)
                usage.record_storage_total(attachment_id=stored[-1].pk)
            conversation.last_seq = message.seq
            conversation.last_activity_at = now
            _publish_new(conversation, message, stored, contact_id=contact_id)
    except _Duplicate:
        original = Message.objects.filter(conversation=conversation, client_id=client_id).first()
        if original is None:  # the conversation row is gone
            raise MessageError("not_found", "Conversation not found.") from None
        return original, False
    return message, True


def message_payload(message: Message, attachments, *, contact_id: int | None = None) -> dict:
    """The message.new frame for a stored message (also what resume replays)."""
    from chat.services.attachments import attachment_ref

    sender = events.sender_ref(
        sender_type=message.sender_type,
        user=message.sender_user,
        contact_id=contact_id if contact_id is not None else None,
    )
    return events.message_new(message, sender=sender, attachments=[attachment_ref(a) for a in attachments])


def _publish_new(conversation: Conversation, message: Message, attachments, *, contact_id: int | None) -> None:
    organization = usage.organization()
    frame = message_payload(message, attachments, contact_id=contact_id)
    targets = [(groups.conversation(organization, conversation.pk), frame)]
    if not message.is_private:
        targets.append((groups.visitor(organization, conversation.contact_id), frame))
    events.publish(targets)
