"""Sending messages: the hot path. One statement per message.

The seq bump and the insert are one statement: `UPDATE conversation SET last_seq =
last_seq + 1 … RETURNING` takes the conversation's row lock, so concurrent senders queue
on it and seqs are dense and in commit order. The insert rides on the same statement and
a resend of a client_id violates the (conversation, client_id) unique key, which aborts
the whole statement, bump included: no gap, and the original is returned. The message's
usage-ledger row rides on the same statement too (billing.meters.keyed_insert), so the
count commits or rolls back with the message, exactly once per message.

From a websocket frame (message_send_checked) the statement also carries the access
check in its WHERE clause and runs in autocommit: one round trip, no BEGIN/COMMIT, no
separate lookup. When it matches no row (missing, not yours, or a visitor writing to a
resolved conversation) the caller takes the full path, which says which it was.
message_send_checked_async is the same on the event loop (orbit.lib.adb), without the
hop to a database thread; the tables are named with their schema, so the statement needs
no search_path."""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chat.models import Attachment, Contact, Conversation, Message
from chat.realtime import events, groups
from chat.services import usage
from orbit.lib import adb
from orbit.lib.text import unstorable
from tenants.dashboard.activity import activity_record

MAX_BODY = 5000
# A visitor writing after this long quiet is announced to the tenant's agents (not only to
# the conversation's subscribers), so a conversation beyond an agent's loaded list pages
# comes to the top of it; during a lively exchange the subscribers' message.new is enough.
WAKE_AFTER = datetime.timedelta(seconds=60)


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


@dataclass(frozen=True)
class Access:
    """Which conversations a sender may write to, as a SQL condition on the conversation
    row (built by chat.selectors: AgentScope.access(), contact_access()); params are prefixed a_."""

    sql: str
    params: dict


EVERYONE = Access(sql="TRUE", params={})


_SEND_SQL = """
WITH bump AS (
    UPDATE {conv}
       SET last_seq = last_seq + 1,
           last_activity_at = %(now)s,
           first_reply_at = CASE WHEN %(is_reply)s AND first_reply_at IS NULL THEN %(now)s ELSE first_reply_at END
      FROM (SELECT id AS prev_id, last_activity_at AS prev_activity FROM {conv} WHERE id = %(conversation)s) AS prev
     WHERE id = %(conversation)s AND prev_id = id AND ({access})
 RETURNING id, last_seq, inbox_id, team_id, assignee_id, contact_id, prev_activity
), ins AS (
    INSERT INTO {msg} (conversation_id, seq, sender_type, sender_user_id, body, is_private, client_id, created_at)
    SELECT bump.id, bump.last_seq, %(sender_type)s, %(sender_user)s::bigint, %(body)s, %(is_private)s, %(client_id)s, %(now)s
      FROM bump
    RETURNING id, seq
), metered AS (
    {usage}
)
SELECT ins.id, ins.seq, (SELECT count(*) FROM metered), bump.inbox_id, bump.team_id, bump.assignee_id,
       bump.contact_id, bump.prev_activity
  FROM ins, bump
"""
_sql_cache: dict[tuple[str, str, str], str] = {}


def _sql(usage_sql: str, access_sql: str, schema: str) -> str:
    """The statement for this tenant's tables, named with their schema (the ledger part is
    the same for every tenant)."""
    key = (schema, usage_sql, access_sql)
    sql = _sql_cache.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        sql = _SEND_SQL.format(
            conv=f"{qn(schema)}.{qn(Conversation._meta.db_table)}", msg=f"{qn(schema)}.{qn(Message._meta.db_table)}",
            usage=usage_sql, access=access_sql,
        )
        if len(_sql_cache) > 64:
            _sql_cache.clear()
        _sql_cache[key] = sql
    return sql


@dataclass(frozen=True)
class _Stored:
    """What the statement returned: the new message's id and seq, and the conversation's
    routing columns (for the event's scope and the visitor group) and its activity before."""

    id: int
    seq: int
    metered: int
    inbox_id: int
    team_id: int | None
    assignee_id: int | None
    contact_id: int
    prev_activity: datetime.datetime | None


@dataclass(frozen=True)
class _Draft:
    """A message checked and ready to store: the sender resolved, the body and client_id
    valid, the time and the ledger row fixed. Both send paths (sync, event loop) start here."""

    kind: str
    user: object | None
    contact_id: int | None
    body: str
    is_private: bool
    client_id: uuid.UUID
    now: datetime.datetime
    meter: object  # billing.meters.KeyedInsert

    def statement(self, *, conversation_id: int, access: Access, schema: str) -> tuple[str, dict]:
        params = {
            **self.meter.params,
            **access.params,
            "now": self.now,
            "is_reply": self.kind in (Message.Sender.AGENT, Message.Sender.BOT) and not self.is_private,
            "conversation": conversation_id,
            "sender_type": self.kind,
            "sender_user": self.user.pk if self.user is not None else None,
            "body": self.body,
            "is_private": self.is_private,
            "client_id": self.client_id,
        }
        return _sql(self.meter.sql, access.sql, schema), params

    def message(self, row: _Stored, *, conversation_id: int) -> Message:
        return Message(pk=row.id, conversation_id=conversation_id, seq=row.seq, sender_type=self.kind,
                       sender_user=self.user, body=self.body, is_private=self.is_private, client_id=self.client_id,
                       created_at=self.now)


def _draft(*, sender, sender_type: str | None, body, client_id, is_private: bool, has_attachments: bool = False,
           organization=None) -> _Draft:
    """Validate a message (MessageError says what is wrong); organization: the tenant when
    it is not the connection's (the event loop)."""
    kind, user, contact_id = _sender(sender, sender_type)
    if kind == Message.Sender.CONTACT and is_private:
        raise MessageError("forbidden", "Visitors cannot write private notes.")
    body = validate_body(body, has_attachments=has_attachments)
    now = timezone.now()
    activity_record(organization=organization or usage.organization(), kind=kind, user=user, contact_id=contact_id, now=now)  # operator's active users (no I/O)
    return _Draft(kind=kind, user=user, contact_id=contact_id, body=body, is_private=is_private,
                  client_id=parse_client_id(client_id), now=now, meter=usage.message_meter(now=now, org=organization))


def _insert(draft: _Draft, *, conversation_id: int, access: Access) -> _Stored | None:
    """Run the send statement; None if no conversation matched, _Duplicate on a resend.

    Outside a transaction the statement is its own (autocommit); inside one, a savepoint
    keeps a resend's unique violation from breaking the caller's transaction."""
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with savepoint, connection.cursor() as cursor:
            cursor.execute(*draft.statement(conversation_id=conversation_id, access=access, schema=connection.schema_name))
            row = cursor.fetchone()
    except IntegrityError:
        raise _Duplicate from None
    return _Stored(*row) if row is not None else None


async def _insert_async(draft: _Draft, *, conversation_id: int, access: Access, schema: str) -> _Stored | None:
    """_insert on the event loop: its own autocommit transaction on an orbit.lib.adb connection."""
    try:
        row = await adb.fetchone(*draft.statement(conversation_id=conversation_id, access=access, schema=schema))
    except psycopg.errors.UniqueViolation:
        raise _Duplicate from None
    return _Stored(*row) if row is not None else None


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
    if unstorable(body):
        raise MessageError("bad_frame", "body may not contain NUL characters or lone surrogates; nothing was stored.")
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
    sent = _send(conversation_id=conversation.pk, access=EVERYONE, sender=sender, sender_type=sender_type, body=body,
                 client_id=client_id, is_private=is_private, attachments=attachments)
    if sent is None:
        raise MessageError("not_found", "Conversation not found.")
    message, created = sent
    if created:
        conversation.last_seq = message.seq
        conversation.last_activity_at = message.created_at
    return sent


def message_send_checked(
    *,
    conversation_id: int,
    access: Access,
    sender,
    body: str,
    client_id: uuid.UUID | str,
    is_private: bool = False,
    skip: str | None = None,
) -> tuple[Message, bool] | None:
    """message_send for a websocket frame: the access check, seq bump, insert and ledger
    row in one autocommit statement. None when the statement matched no conversation
    (missing, not the sender's, or a resolved one a visitor reopens): the caller then
    looks the conversation up and takes message_send / visitor_message_send, which
    raise or handle it. skip: the sending socket's channel, which gets message.ack instead
    of its own message.new (the sender's other sockets still get it)."""
    return _send(conversation_id=conversation_id, access=access, sender=sender, sender_type=None, body=body,
                 client_id=client_id, is_private=is_private, attachments=(), skip=skip)


async def message_send_checked_async(
    *,
    organization,
    conversation_id: int,
    access: Access,
    sender,
    body: str,
    client_id: uuid.UUID | str,
    is_private: bool = False,
    skip: str | None = None,
) -> tuple[Message, bool] | None:
    """message_send_checked on the event loop, for the websocket consumers: the same
    validation, statement and events, without a database thread. organization: the
    socket's tenant. None when the statement matched no conversation and also on a resend
    of client_id: the caller then takes the sync path (message_send_checked), which returns
    the original message or says what was wrong."""
    draft = _draft(sender=sender, sender_type=None, body=body, client_id=client_id, is_private=is_private,
                   organization=organization)
    try:
        row = await _insert_async(draft, conversation_id=conversation_id, access=access, schema=organization.schema_name)
    except _Duplicate:
        return None
    if row is None:
        return None
    draft.meter.committed(row.metered)
    message = draft.message(row, conversation_id=conversation_id)
    targets, scope = _new_message_events(message, [], row=row, contact_id=draft.contact_id, organization=organization)
    events.publish_soon(targets, skip=skip, scope=scope)
    return message, True


def _send(*, conversation_id: int, access: Access, sender, sender_type: str | None, body, client_id,
          is_private: bool, attachments: Sequence[StoredFile], skip: str | None = None) -> tuple[Message, bool] | None:
    """Both entry points: validate, one statement, the attachments (in one transaction with
    the message when there are any), the events. None when no conversation matched."""
    draft = _draft(sender=sender, sender_type=sender_type, body=body, client_id=client_id, is_private=is_private,
                   has_attachments=bool(attachments))
    try:
        with transaction.atomic() if attachments else contextlib.nullcontext():
            row = _insert(draft, conversation_id=conversation_id, access=access)
            if row is None:
                return None
            draft.meter.inserted(row.metered)
            message = draft.message(row, conversation_id=conversation_id)
            files = [
                Attachment(message=message, kind=f.kind, file=f.name, content_type=f.content_type, size=f.size,
                           original_name=f.original_name)
                for f in attachments
            ]
            if files:
                Attachment.objects.bulk_create(files)
                usage.record_storage_total(attachment_id=files[-1].pk)
            targets, scope = _new_message_events(message, files, row=row, contact_id=draft.contact_id,
                                                 organization=usage.organization())
            events.publish(targets, skip=skip, scope=scope)
    except _Duplicate:
        return _original(conversation_id=conversation_id, client_id=draft.client_id), False
    return message, True


def _original(*, conversation_id: int, client_id: uuid.UUID) -> Message:
    """The message a resend of client_id refers to."""
    original = Message.objects.filter(conversation_id=conversation_id, client_id=client_id).first()
    if original is None:  # the unique violation was not a resend (the conversation row is gone)
        raise MessageError("not_found", "Conversation not found.")
    return original


def message_payload(message: Message, attachments, *, contact_id: int | None = None) -> dict:
    """The message.new frame for a stored message (also what resume replays)."""
    from chat.services.attachments import attachment_ref

    sender = events.sender_ref(
        sender_type=message.sender_type,
        user=message.sender_user,
        contact_id=contact_id if contact_id is not None else None,
    )
    return events.message_new(message, sender=sender, attachments=[attachment_ref(a) for a in attachments])


def _new_message_events(message: Message, attachments, *, row: _Stored, contact_id: int | None,
                        organization) -> tuple[list[tuple[str, dict]], dict]:
    """(group, frame) pairs and the scope for a new message: message.new to the
    conversation's agents (filtered by the conversation's scope as it is now, so an agent
    it was transferred away from stops receiving it) and, unless it is a private note, to
    the visitor; conversation.activity to all agents when a visitor wakes a quiet one."""
    frame = message_payload(message, attachments, contact_id=contact_id)
    targets = [(groups.conversation(organization, message.conversation_id), frame)]
    if not message.is_private:
        targets.append((groups.visitor(organization, row.contact_id), frame))
    if contact_id is not None and (row.prev_activity is None or message.created_at - row.prev_activity >= WAKE_AFTER):
        targets.append((groups.agents(organization), events.conversation_activity(message)))
    return targets, {"inbox": row.inbox_id, "team": row.team_id, "assignee": row.assignee_id}
