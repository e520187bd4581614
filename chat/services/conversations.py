"""Conversations: open, status, labels, priority, read receipts, typing, auto-resolve."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from chat.models import Contact, Conversation, Inbox, Label, Message, ReadReceipt
from chat.realtime import events, groups
from chat.services import assignment, usage
from chat.services.messages import message_send

Status = Conversation.Status
TYPING_STATES = ("on", "off")


class ConversationError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def conversation_open(
    *, inbox: Inbox, contact: Contact, team=None, priority: int = Conversation.Priority.NONE
) -> Conversation:
    """A new conversation (checked against the plan and metered), then auto-assigned or queued."""
    try:
        usage.require_conversation()
    except usage.LimitReached as exc:
        raise ConversationError(exc.code, exc.reason) from None
    with transaction.atomic():
        conversation = Conversation.objects.create(inbox=inbox, contact=contact, team=team, priority=priority)
        conversation.inbox = inbox
        usage.record_conversation(conversation_id=conversation.pk)
        assignment.assignment_auto(conversation=conversation)
    return conversation


def visitor_message_send(
    *, inbox: Inbox, contact: Contact, conversation: Conversation | None, body: str, client_id, attachments=()
) -> tuple[Message, bool]:
    """A visitor's message. No conversation: their current one in this inbox, or a new one.

    A resend of a first message (conversation still null on the client) finds the
    original by client_id instead of opening a second conversation; a message to a
    resolved conversation reopens it."""
    if conversation is None:
        from chat.services.messages import parse_client_id, validate_body

        validate_body(body, has_attachments=bool(attachments))
        client_id = parse_client_id(client_id)
        with transaction.atomic():
            Contact.objects.select_for_update().filter(pk=contact.pk).first()  # one opener per contact
            original = Message.objects.filter(
                client_id=client_id, conversation__contact=contact, conversation__inbox=inbox
            ).first()
            if original is not None:
                return original, False
            conversation = (
                Conversation.objects.filter(contact=contact, inbox=inbox)
                .exclude(status=Status.RESOLVED)
                .order_by("-created_at", "-pk")
                .first()
            ) or conversation_open(inbox=inbox, contact=contact)
            return message_send(
                conversation=conversation, sender=contact, body=body, client_id=client_id, attachments=attachments
            )
    if conversation.status == Status.RESOLVED:
        with transaction.atomic():
            result = message_send(
                conversation=conversation, sender=contact, body=body, client_id=client_id, attachments=attachments
            )
            if result[1]:
                conversation_set_status(conversation=conversation, status=Status.OPEN)
            return result
    return message_send(conversation=conversation, sender=contact, body=body, client_id=client_id, attachments=attachments)


def conversation_set_status(
    *,
    conversation: Conversation,
    status: str,
    snoozed_until: dt.datetime | None = None,
    idle_since: dt.datetime | None = None,
) -> Conversation:
    """Resolve, reopen, snooze or set pending. Resolving frees capacity for the queue.

    idle_since: only if nothing happened since then (checked under the row lock)."""
    if status not in Status.values:
        raise ConversationError("bad_status", f"Unknown status {status!r}.")
    now = timezone.now()
    with transaction.atomic():
        current = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if current.status == status and status != Status.SNOOZED:
            return current
        if idle_since is not None and current.last_activity_at >= idle_since:
            return current
        fields = {"status": status, "snoozed_until": snoozed_until if status == Status.SNOOZED else None}
        if status == Status.RESOLVED:
            fields.update(resolved_at=now, queued_at=None)
        elif current.status == Status.RESOLVED:
            fields.update(resolved_at=None, last_activity_at=now)
        Conversation.objects.filter(pk=conversation.pk).update(**fields)
        for name, value in fields.items():
            setattr(conversation, name, value)
        conversation.status = status
        if status == Status.RESOLVED and current.assignee_id:
            transaction.on_commit(assignment.assignment_queue_drain)
        if status in assignment.ACTIVE and current.status not in assignment.ACTIVE and not current.assignee_id:
            assignment.assignment_auto(conversation=conversation)
        else:
            assignment.conversation_publish(conversation)
    return conversation


def conversation_set_priority(*, conversation: Conversation, priority: int) -> Conversation:
    if priority not in Conversation.Priority.values:
        raise ConversationError("bad_priority", f"Unknown priority {priority!r}.")
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(priority=priority)
        conversation.priority = priority
        assignment.conversation_publish(conversation)
    return conversation


def conversation_labels_add(*, conversation: Conversation, names: list[str]) -> Conversation:
    with transaction.atomic():
        labels = [Label.objects.get_or_create(name=name.strip()[:50])[0] for name in names if name.strip()]
        conversation.labels.add(*labels)
        assignment.conversation_publish(conversation)
    return conversation


def conversation_labels_remove(*, conversation: Conversation, names: list[str]) -> Conversation:
    with transaction.atomic():
        conversation.labels.remove(*Label.objects.filter(name__in=names))
        assignment.conversation_publish(conversation)
    return conversation


def conversation_mark_read(*, conversation: Conversation, reader, seq: int) -> int:
    """Record that reader (an agent, or the Contact) has read up to seq; returns the stored seq.

    Receipts only move forward, and never past the last message."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ConversationError("bad_frame", "seq must be a non-negative integer")
    is_contact = isinstance(reader, Contact)
    with transaction.atomic():
        last_seq = Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", flat=True).first() or 0
        seq = min(seq, last_seq)
        lookup = {"conversation": conversation, "is_contact": is_contact, "user": None if is_contact else reader}
        updated = ReadReceipt.objects.filter(**lookup).update(last_read_seq=Greatest(F("last_read_seq"), seq))
        if not updated:
            ReadReceipt.objects.get_or_create(**lookup, defaults={"last_read_seq": seq})
        stored = ReadReceipt.objects.filter(**lookup).values_list("last_read_seq", flat=True).first()
        sender = (
            events.sender_ref(sender_type="contact", contact_id=reader.pk)
            if is_contact
            else events.sender_ref(sender_type="agent", user=reader)
        )
        _publish_both(conversation, events.read(conversation_id=conversation.pk, seq=stored, sender=sender))
    return stored


def conversation_typing(*, conversation: Conversation, typist, state: str, skip: str | None = None) -> None:
    """Typing indicator to the conversation's watchers and its visitor (not echoed to `skip`)."""
    if state not in TYPING_STATES:
        raise ConversationError("bad_frame", 'state must be "on" or "off"')
    is_contact = isinstance(typist, Contact)
    sender = (
        events.sender_ref(sender_type="contact", contact_id=typist.pk)
        if is_contact
        else events.sender_ref(sender_type="agent", user=typist)
    )
    _publish_both(conversation, events.typing(conversation_id=conversation.pk, state=state, sender=sender), skip=skip)


def _publish_both(conversation: Conversation, frame: dict, *, skip: str | None = None) -> None:
    org = usage.organization()
    events.publish(
        [(groups.conversation(org, conversation.pk), frame), (groups.visitor(org, conversation.contact_id), frame)],
        skip=skip,
    )


def system_message(*, conversation: Conversation, body: str, key: str) -> Message:
    """A system line in the conversation (idempotent per key)."""
    client_id = uuid.uuid5(uuid.NAMESPACE_URL, f"orbit-system:{conversation.pk}:{key}")
    return message_send(conversation=conversation, sender=None, body=body, client_id=client_id)[0]


def conversations_auto_resolve(*, now: dt.datetime | None = None) -> int:
    """Resolve conversations idle longer than their inbox's auto_resolve_after; returns how many."""
    now = now or timezone.now()
    resolved = 0
    for inbox in Inbox.objects.filter(auto_resolve_after__isnull=False):
        idle = Conversation.objects.filter(
            Q(status__in=(Status.OPEN, Status.PENDING)),
            inbox=inbox,
            last_activity_at__lt=now - inbox.auto_resolve_after,
        ).select_related("inbox")
        for conversation in idle.iterator():
            done = conversation_set_status(
                conversation=conversation, status=Status.RESOLVED, idle_since=now - inbox.auto_resolve_after
            )
            resolved += done.status == Status.RESOLVED
    return resolved
