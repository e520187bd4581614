"""Sending a message: THE one path, for a websocket frame, a view, an upload or the system.

One statement per message, run once. It takes the conversation's row lock with `UPDATE …
SET last_seq = last_seq + 1` (concurrent senders queue on it, so seqs are dense and in commit
order), inserts the message and its usage-ledger row (billing.meters.keyed_insert) in the same
statement, and carries the sender's access check and the resend check in it. It always
returns one row, which says what happened, so nothing is ever run a second time to find out:

    stored      the message (and its ledger row) committed
    duplicate   this client_id is already in the conversation: the original comes back
    not found   no such conversation, or not the sender's (deliberately the same answer)
    reopen      a visitor writing to their resolved conversation: the service reopens it
                (assignment, events) and stores the message in one transaction

`message_send_async` runs the statement on the event loop (orbit.lib.adb: tables named with
the organization's schema, autocommit, no database thread); `message_send` runs it on Django's
connection (a savepoint inside a caller's transaction; with attachments in one transaction
with them). Both decide through `_outcome` and return `Sent`. A widget's first message (no
conversation yet) and a reopen take `visitor_message_send` in a database thread: it finds or
opens the conversation and calls `message_send`.

Every function takes the organization explicitly (`organization=None` falls back to the
connection's tenant, for callers that do not pass it yet)."""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Sequence

from django.db import transaction

from chat.models import Attachment, Contact, Conversation, Message
from chat.realtime import events, groups
from chat.selectors import EVERYONE, Access, NotFound, conversation_for_contact, message_payload
from chat.services import usage
from chat.services.conversations import conversation_open, conversation_set_status
from chat.services.messages.results import Outcome, Sent, StoredFile, not_found
from chat.services.messages.statement import (
    _Draft,
    _draft,
    _outcome,
    _Reopen,
    _Row,
    _run,
    _run_async,
    parse_client_id,
    validate_body,
)
from orbit.lib.tenancy import current_organization, in_schema

# A visitor writing after this long quiet is announced to the tenant's agents (not only to
# the conversation's subscribers), so a conversation beyond an agent's loaded list pages
# comes to the top of it; during a lively exchange the subscribers' message.new is enough.
WAKE_AFTER = datetime.timedelta(seconds=60)


def _new_message_events(organization, message: Message, attachments, *, row: _Row,
                        contact_id: int | None) -> tuple[list[tuple[str, dict]], dict]:
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


def message_send(
    *,
    organization=None,
    conversation: Conversation,
    sender,
    body: str,
    client_id: uuid.UUID | str,
    is_private: bool = False,
    attachments: Sequence[StoredFile] = (),
    sender_type: str | None = None,
    skip: str | None = None,
) -> Sent:
    """Store a message in a conversation the caller already holds (a view, an upload, the
    system, the visitor path below). A resend of client_id returns the original (DUPLICATE).

    sender is the agent (User), the Contact, or None for a system message; sender_type may
    say "bot" for an API user. Contacts cannot write private notes. With attachments, the
    message, its files and the storage reading are one transaction."""
    organization = organization if organization is not None else current_organization()
    draft = _draft(organization=organization, sender=sender, sender_type=sender_type, body=body,
                   client_id=client_id, is_private=is_private, has_attachments=bool(attachments))
    with transaction.atomic() if attachments else contextlib.nullcontext():
        row = _run(draft, conversation_id=conversation.pk, access=EVERYONE)
        message, outcome = _outcome(draft, row, conversation_id=conversation.pk)
        if outcome is Outcome.STORED:
            _stored(draft, row, message, attachments, skip=skip)
            conversation.last_seq = message.seq
            conversation.last_activity_at = message.created_at
    return Sent(message, outcome)


def _stored(draft: _Draft, row: _Row, message: Message, attachments: Sequence[StoredFile], *,
            skip: str | None) -> None:
    """After the statement stored a message on Django's connection: its files, the ledger's
    cached counters and the events, all on commit of the caller's transaction."""
    draft.meter.inserted(row.metered)
    files = [
        Attachment(message=message, kind=f.kind, file=f.name, content_type=f.content_type, size=f.size,
                   original_name=f.original_name)
        for f in attachments
    ]
    if files:
        Attachment.objects.bulk_create(files)
        usage.record_storage_total(organization=draft.organization, attachment_id=files[-1].pk)
    targets, scope = _new_message_events(draft.organization, message, files, row=row, contact_id=draft.contact_id)
    events.publish(targets, skip=skip, scope=scope)


async def message_send_async(
    *,
    organization,
    conversation_id: int | None,
    access: Access,
    sender,
    body,
    client_id,
    is_private: bool = False,
    skip: str | None = None,
    inbox=None,
) -> Sent:
    """A websocket frame's message: the statement on the event loop, no database thread.
    A visitor's first message (conversation_id None) or their resolved conversation (reopen)
    takes visitor_message_send in a database thread (`inbox`: the visitor's). skip: the
    sending socket's channel, which gets message.ack instead of its own message.new (the
    sender's other sockets still get it). Raises MessageError (a bad message, not found) and
    ConversationError (the plan refuses a new conversation)."""
    draft = _draft(organization=organization, sender=sender, sender_type=None, body=body, client_id=client_id,
                   is_private=is_private)
    if conversation_id is not None:
        row = await _run_async(draft, conversation_id=conversation_id, access=access)
        try:
            message, outcome = _outcome(draft, row, conversation_id=conversation_id)
        except _Reopen:
            pass
        else:
            if outcome is Outcome.STORED:
                draft.meter.committed(row.metered)
                targets, scope = _new_message_events(organization, message, [], row=row, contact_id=draft.contact_id)
                events.publish_soon(targets, skip=skip, scope=scope)
            return Sent(message, outcome)
    if inbox is None or not isinstance(sender, Contact):
        raise not_found()
    return await in_schema(organization, _visitor_by_id, organization, inbox, sender, conversation_id, draft.body,
                           draft.client_id)


def _visitor_by_id(organization, inbox, contact: Contact, conversation_id: int | None, body, client_id) -> Sent:
    if conversation_id is None:
        conversation = None
    else:
        try:
            conversation = conversation_for_contact(contact_id=contact.pk, inbox_id=inbox.pk,
                                                    conversation_id=conversation_id)
        except NotFound:
            raise not_found() from None
    return visitor_message_send(organization=organization, inbox=inbox, contact=contact, conversation=conversation,
                                body=body, client_id=client_id)


def visitor_message_send(
    *, organization=None, inbox, contact: Contact, conversation: Conversation | None, body: str, client_id,
    attachments: Sequence[StoredFile] = (),
) -> Sent:
    """A visitor's message. No conversation: their current one in this inbox, or a new one
    (OPENED). A resend of a first message (conversation still null on the client) finds the
    original by client_id instead of opening a second conversation; a message to a resolved
    conversation reopens it (REOPENED)."""
    organization = organization if organization is not None else current_organization()
    if conversation is None:
        validate_body(body, has_attachments=bool(attachments))
        client_id = parse_client_id(client_id)
        with transaction.atomic():
            Contact.objects.select_for_update().filter(pk=contact.pk).first()  # one opener per contact
            original = Message.objects.filter(
                client_id=client_id, conversation__contact=contact, conversation__inbox=inbox
            ).first()
            if original is not None:
                return Sent(original, Outcome.DUPLICATE)
            conversation = (
                Conversation.objects.filter(contact=contact, inbox=inbox)
                .exclude(status=Conversation.Status.RESOLVED)
                .order_by("-created_at", "-pk")
                .first()
            ) or conversation_open(organization=organization, inbox=inbox, contact=contact)
            sent = message_send(organization=organization, conversation=conversation, sender=contact, body=body,
                                client_id=client_id, attachments=attachments)
            return Sent(sent.message, Outcome.OPENED) if sent.created else sent
    if conversation.status == Conversation.Status.RESOLVED:
        with transaction.atomic():
            sent = message_send(organization=organization, conversation=conversation, sender=contact, body=body,
                                client_id=client_id, attachments=attachments)
            if sent.created:
                conversation_set_status(organization=organization, conversation=conversation,
                                        status=Conversation.Status.OPEN)
                return Sent(sent.message, Outcome.REOPENED)
            return sent
    return message_send(organization=organization, conversation=conversation, sender=contact, body=body,
                        client_id=client_id, attachments=attachments)


def system_message(*, organization=None, conversation: Conversation, body: str, key: str) -> Message:
    """A system line in the conversation (idempotent per key)."""
    client_id = uuid.uuid5(uuid.NAMESPACE_URL, f"orbit-system:{conversation.pk}:{key}")
    return message_send(organization=organization, conversation=conversation, sender=None, body=body,
                        client_id=client_id).message
