"""The send statement: one per message, run once, always one row back (see chat.services.messages)."""

from __future__ import annotations

import contextlib
import datetime
import uuid
from dataclasses import dataclass

import psycopg
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chat.models import Contact, Conversation, Message
from chat.selectors import Access
from chat.services import usage
from chat.services.messages.results import MAX_BODY, MessageError, Outcome, not_found
from orbit.lib import adb
from orbit.lib.text import unstorable
from tenants.dashboard.activity import activity_record

_SEND_SQL = """
WITH target AS (
    SELECT id, status, last_activity_at AS prev_activity, ({access}) AS allowed
      FROM {conv} WHERE id = %(conversation)s
), dup AS (
    SELECT id, seq, body, is_private, sender_type, sender_user_id, created_at
      FROM {msg} WHERE conversation_id = %(conversation)s AND client_id = %(client_id)s
), bump AS (
    UPDATE {conv} AS c
       SET last_seq = c.last_seq + 1,
           last_activity_at = %(now)s,
           first_reply_at = CASE WHEN %(is_reply)s AND c.first_reply_at IS NULL THEN %(now)s ELSE c.first_reply_at END
      FROM target
     WHERE c.id = target.id AND target.allowed
       AND NOT (%(reopens)s AND target.status = 'resolved')
       AND NOT EXISTS (SELECT 1 FROM dup)
 RETURNING c.id, c.last_seq, c.inbox_id, c.team_id, c.assignee_id, c.contact_id, target.prev_activity
), ins AS (
    INSERT INTO {msg} (conversation_id, seq, sender_type, sender_user_id, body, is_private, client_id, created_at)
    SELECT bump.id, bump.last_seq, %(sender_type)s, %(sender_user)s::bigint, %(body)s, %(is_private)s, %(client_id)s, %(now)s
      FROM bump
    RETURNING id, seq
), metered AS (
    {usage}
)
SELECT ins.id, ins.seq, (SELECT count(*) FROM metered), bump.inbox_id, bump.team_id, bump.assignee_id,
       bump.contact_id, bump.prev_activity,
       COALESCE(target.allowed, FALSE), target.status,
       dup.id, dup.seq, dup.body, dup.is_private, dup.sender_type, dup.sender_user_id, dup.created_at
  FROM (SELECT 1) AS one
  LEFT JOIN target ON TRUE
  LEFT JOIN dup ON TRUE
  LEFT JOIN bump ON TRUE
  LEFT JOIN ins ON TRUE
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
class _Row:
    """The statement's one row: the new message (id, seq, ledger rows, the conversation's
    routing columns and its activity before), whether the conversation was there for this
    sender and its status, and the original of a resent client_id."""

    id: int | None
    seq: int | None
    metered: int
    inbox_id: int | None
    team_id: int | None
    assignee_id: int | None
    contact_id: int | None
    prev_activity: datetime.datetime | None
    allowed: bool
    status: str | None
    dup_id: int | None
    dup_seq: int | None
    dup_body: str | None
    dup_private: bool | None
    dup_sender_type: str | None
    dup_sender_user_id: int | None
    dup_created_at: datetime.datetime | None


@dataclass(frozen=True)
class _Draft:
    """A message checked and ready to store: the sender resolved, the body and client_id
    valid, the time and the ledger row fixed."""

    organization: object
    kind: str
    user: object | None
    contact_id: int | None
    body: str
    is_private: bool
    client_id: uuid.UUID
    now: datetime.datetime
    meter: object  # billing.meters.KeyedInsert

    def statement(self, *, conversation_id: int, access: Access) -> tuple[str, dict]:
        params = {
            **self.meter.params,
            **access.params,
            "now": self.now,
            "is_reply": self.kind in (Message.Sender.AGENT, Message.Sender.BOT) and not self.is_private,
            "reopens": access.reopens,
            "conversation": conversation_id,
            "sender_type": self.kind,
            "sender_user": self.user.pk if self.user is not None else None,
            "body": self.body,
            "is_private": self.is_private,
            "client_id": self.client_id,
        }
        return _sql(self.meter.sql, access.sql, self.organization.schema_name), params

    def message(self, row: _Row, *, conversation_id: int) -> Message:
        return Message(pk=row.id, conversation_id=conversation_id, seq=row.seq, sender_type=self.kind,
                       sender_user=self.user, body=self.body, is_private=self.is_private, client_id=self.client_id,
                       created_at=self.now)

    def original(self, row: _Row, *, conversation_id: int) -> Message:
        return Message(pk=row.dup_id, conversation_id=conversation_id, seq=row.dup_seq,
                       sender_type=row.dup_sender_type, sender_user_id=row.dup_sender_user_id, body=row.dup_body,
                       is_private=row.dup_private, client_id=self.client_id, created_at=row.dup_created_at)


class _Reopen(Exception):
    """The statement stored nothing: a visitor's resolved conversation, to reopen."""


def _draft(*, organization, sender, sender_type: str | None, body, client_id, is_private: bool,
           has_attachments: bool = False) -> _Draft:
    """Validate a message (MessageError says what is wrong)."""
    kind, user, contact_id = _sender(sender, sender_type)
    if kind == Message.Sender.CONTACT and is_private:
        raise MessageError("forbidden", "Visitors cannot write private notes.")
    body = validate_body(body, has_attachments=has_attachments)
    now = timezone.now()
    activity_record(organization=organization, kind=kind, user=user, contact_id=contact_id, now=now)  # operator's active users (no I/O)
    return _Draft(organization=organization, kind=kind, user=user, contact_id=contact_id, body=body,
                  is_private=is_private, client_id=parse_client_id(client_id), now=now,
                  meter=usage.message_meter(organization=organization, now=now))


def _outcome(draft: _Draft, row: _Row, *, conversation_id: int) -> tuple[Message, Outcome]:
    """What the statement's row means; raises MessageError (not found) or _Reopen."""
    if row.id is not None:
        return draft.message(row, conversation_id=conversation_id), Outcome.STORED
    if row.dup_id is not None and row.allowed:
        return draft.original(row, conversation_id=conversation_id), Outcome.DUPLICATE
    if not row.allowed:
        raise not_found()
    if row.status == Conversation.Status.RESOLVED:
        raise _Reopen
    raise not_found()  # the row went away between the statement's snapshot and its lock


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


def _run(draft: _Draft, *, conversation_id: int, access: Access) -> _Row:
    """The statement on Django's connection: its own transaction outside one (autocommit), a
    savepoint inside one (a failure leaves the caller's transaction usable)."""
    statement = draft.statement(conversation_id=conversation_id, access=access)
    for attempt in (1, 2):
        savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
        try:
            with savepoint, connection.cursor() as cursor:
                cursor.execute(*statement)
                return _Row(*cursor.fetchone())
        except IntegrityError:
            if attempt == 2:
                raise
            # The same client_id committed by another statement meanwhile: run again, it
            # reports the duplicate (the failed one rolled back whole: no seq gap).
    raise AssertionError("unreachable")


async def _run_async(draft: _Draft, *, conversation_id: int, access: Access) -> _Row:
    """_run on the event loop: its own autocommit transaction on an orbit.lib.adb connection."""
    statement = draft.statement(conversation_id=conversation_id, access=access)
    try:
        return _Row(*await adb.fetchone(*statement))
    except psycopg.errors.UniqueViolation:  # as in _run: a concurrent copy of this client_id
        return _Row(*await adb.fetchone(*statement))
