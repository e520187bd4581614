"""Conversations: open, status, labels, priority, read receipts, typing, auto-resolve.

Every service takes the organization (None: the connection's tenant, for callers that do not
pass it yet)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from chat.models import Contact, Conversation, Inbox, Label, ReadReceipt
from chat.realtime import events, groups
from chat.services import assignment, usage
from orbit.lib.errors import OrbitError
from orbit.lib.tenancy import current_organization

Status = Conversation.Status
TYPING_STATES = ("on", "off")


class ConversationError(OrbitError, ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message, code=code)


def conversation_open(
    *, organization=None, inbox: Inbox, contact: Contact, team=None, priority: int = Conversation.Priority.NONE
) -> Conversation:
    """A new conversation (checked against the plan and metered), then auto-assigned or queued."""
    organization = organization if organization is not None else current_organization()
    try:
        usage.require_conversation(organization=organization)
    except usage.LimitReached as exc:
        raise ConversationError(exc.code, exc.reason) from None
    with transaction.atomic():
        conversation = Conversation.objects.create(inbox=inbox, contact=contact, team=team, priority=priority)
        conversation.inbox = inbox
        usage.record_conversation(organization=organization, conversation_id=conversation.pk)
        assignment.assignment_auto(organization=organization, conversation=conversation)
    return conversation


def conversation_set_status(
    *,
    organization=None,
    conversation: Conversation,
    status: str,
    snoozed_until: dt.datetime | None = None,
    idle_since: dt.datetime | None = None,
) -> Conversation:
    """Resolve, reopen, snooze or set pending. Resolving frees capacity for the queue.

    idle_since: only if nothing happened since then (checked under the row lock)."""
    if status not in Status.values:
        raise ConversationError("bad_status", f"Unknown status {status!r}.")
    organization = organization if organization is not None else current_organization()
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
            transaction.on_commit(lambda: assignment.assignment_queue_drain(organization=organization))
        if status in assignment.ACTIVE and current.status not in assignment.ACTIVE and not current.assignee_id:
            assignment.assignment_auto(organization=organization, conversation=conversation)
        else:
            assignment.conversation_publish(organization, conversation)
    return conversation


def conversation_set_priority(*, organization=None, conversation: Conversation, priority: int) -> Conversation:
    if priority not in Conversation.Priority.values:
        raise ConversationError("bad_priority", f"Unknown priority {priority!r}.")
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(priority=priority)
        conversation.priority = priority
        assignment.conversation_publish(_org(organization), conversation)
    return conversation


def conversation_labels_add(*, organization=None, conversation: Conversation, names: list[str]) -> Conversation:
    with transaction.atomic():
        labels = [Label.objects.get_or_create(name=name.strip()[:50])[0] for name in names if name.strip()]
        conversation.labels.add(*labels)
        assignment.conversation_publish(_org(organization), conversation)
    return conversation


def conversation_labels_remove(*, organization=None, conversation: Conversation, names: list[str]) -> Conversation:
    with transaction.atomic():
        conversation.labels.remove(*Label.objects.filter(name__in=names))
        assignment.conversation_publish(_org(organization), conversation)
    return conversation


def conversation_mark_read(*, organization=None, conversation: Conversation, reader, seq: int) -> int:
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
        _publish_both(_org(organization), conversation,
                      events.read(conversation_id=conversation.pk, seq=stored, sender=sender))
    return stored


def conversation_typing(*, organization=None, conversation: Conversation, typist, state: str,
                        skip: str | None = None) -> None:
    """Typing indicator to the conversation's watchers and its visitor (not echoed to `skip`)."""
    if state not in TYPING_STATES:
        raise ConversationError("bad_frame", 'state must be "on" or "off"')
    is_contact = isinstance(typist, Contact)
    sender = (
        events.sender_ref(sender_type="contact", contact_id=typist.pk)
        if is_contact
        else events.sender_ref(sender_type="agent", user=typist)
    )
    _publish_both(_org(organization), conversation,
                  events.typing(conversation_id=conversation.pk, state=state, sender=sender), skip=skip)


def _org(organization):
    return organization if organization is not None else current_organization()


def _publish_both(org, conversation: Conversation, frame: dict, *, skip: str | None = None) -> None:
    events.publish(
        [(groups.conversation(org, conversation.pk), frame), (groups.visitor(org, conversation.contact_id), frame)],
        skip=skip,
    )


def conversations_auto_resolve(*, organization=None, now: dt.datetime | None = None) -> int:
    """Resolve conversations idle longer than their inbox's auto_resolve_after; returns how many."""
    organization = _org(organization)
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
                organization=organization, conversation=conversation, status=Status.RESOLVED,
                idle_since=now - inbox.auto_resolve_after,
            )
            resolved += done.status == Status.RESOLVED
    return resolved
