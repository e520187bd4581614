"""Who answers: round-robin auto-assignment with per-agent capacity, a FIFO queue, manual assign and transfer.

Every assignment decision runs under one transaction-scoped advisory lock per tenant,
so two conversations racing for an agent's last free slot are decided one after the
other, each seeing the other's committed result (READ COMMITTED, statement snapshots
taken after the lock). Advisory locks are database-wide, hence the organization id in
the key."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from chat.models import Conversation, Inbox, Team
from chat.realtime import events, groups
from chat.selectors import candidate_ids, presence_online_ids
from orbit.lib.errors import OrbitError
from orbit.lib.tenancy import current_organization

_LOCK_NAMESPACE = 0x0C4A7  # pg_advisory_xact_lock(namespace, organization id)
ACTIVE = (Conversation.Status.OPEN, Conversation.Status.PENDING)
QUEUE_BATCH = 200


class AssignmentError(OrbitError, ValueError):
    code = "assignment_refused"


def _org(organization):
    return organization if organization is not None else current_organization()


def _lock(organization) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, organization.pk])


def _loads(user_ids: list[int]) -> dict[int, int]:
    rows = (
        Conversation.objects.filter(assignee_id__in=user_ids, status__in=ACTIVE)
        .values("assignee_id")
        .annotate(n=Count("pk"))
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def _pick(organization, conversation: Conversation) -> int | None:
    """The next online agent with a free slot, round-robin after the inbox's cursor."""
    inbox = conversation.inbox
    ids = candidate_ids(conversation=conversation)
    online = presence_online_ids(organization=organization, user_ids=ids)
    ids = [uid for uid in ids if uid in online]
    if not ids:
        return None
    loads = _loads(ids)
    free = [uid for uid in ids if loads.get(uid, 0) < inbox.auto_assign_capacity]
    if not free:
        return None
    cursor = inbox.last_assigned_user_id or 0
    after = [uid for uid in free if uid > cursor]
    return (after or free)[0]


def _set_assignee(conversation: Conversation, user_id: int | None) -> None:
    conversation.assignee_id = user_id
    conversation.queued_at = None
    Conversation.objects.filter(pk=conversation.pk).update(assignee_id=user_id, queued_at=None)
    # Drop the cached related object so the event names the new assignee.
    if Conversation.assignee.field.is_cached(conversation):
        Conversation.assignee.field.delete_cached_value(conversation)


def _auto_assign_locked(organization, conversation: Conversation) -> bool:
    """With the lock held: assign now, or put in the queue. True if assigned."""
    inbox = conversation.inbox
    if not inbox.auto_assign or conversation.assignee_id or conversation.status not in ACTIVE:
        return False
    user_id = _pick(organization, conversation)
    if user_id is None:
        if conversation.queued_at is None:
            conversation.queued_at = timezone.now()
            Conversation.objects.filter(pk=conversation.pk).update(queued_at=conversation.queued_at)
        return False
    _set_assignee(conversation, user_id)
    Inbox.objects.filter(pk=inbox.pk).update(last_assigned_user_id=user_id)
    inbox.last_assigned_user_id = user_id
    return True


def conversation_publish(org, conversation: Conversation) -> None:
    """conversation.updated to the tenant's agents, the conversation's watchers and its visitor."""
    conversation = Conversation.objects.select_related("assignee", "team").prefetch_related("labels").get(pk=conversation.pk)
    frame = events.conversation_updated(conversation)
    events.publish(
        [
            (groups.agents(org), frame),
            (groups.visitor(org, conversation.contact_id), events.conversation_updated(conversation, for_visitor=True)),
        ],
        scope=scope_of(conversation),
    )


def scope_of(conversation: Conversation) -> dict:
    """Who may see an agents-group event (the agent consumer filters on this, then strips it)."""
    return {"inbox": conversation.inbox_id, "team": conversation.team_id, "assignee": conversation.assignee_id}


def assignment_auto(*, organization=None, conversation: Conversation) -> bool:
    """Try to auto-assign one conversation (queued if nobody is free)."""
    organization = _org(organization)
    with transaction.atomic():
        _lock(organization)
        conversation.refresh_from_db(fields=["assignee", "queued_at", "status", "team"])
        assigned = _auto_assign_locked(organization, conversation)
        conversation_publish(organization, conversation)
    return assigned


def assignment_queue_drain(*, organization=None) -> int:
    """Assign queued conversations, oldest first, as far as capacity allows; returns how many."""
    organization = _org(organization)
    assigned = 0
    with transaction.atomic():
        _lock(organization)
        queued = (
            Conversation.objects.filter(queued_at__isnull=False, assignee__isnull=True, status__in=ACTIVE)
            .select_related("inbox", "team")
            .order_by("queued_at", "pk")[:QUEUE_BATCH]
        )
        for conversation in queued:
            if _auto_assign_locked(organization, conversation):
                assigned += 1
                conversation_publish(organization, conversation)
    return assigned


def conversation_assign(*, organization=None, conversation: Conversation, agent) -> Conversation:
    """Manual assignment (None unassigns). Capacity does not apply: a person decided."""
    if agent is not None and not agent.is_active:
        raise AssignmentError("This agent is not active.")
    organization = _org(organization)
    with transaction.atomic():
        _lock(organization)
        previous = Conversation.objects.filter(pk=conversation.pk).values_list("assignee_id", flat=True).first()
        _set_assignee(conversation, agent.pk if agent is not None else None)
        if agent is None and conversation.status in ACTIVE and conversation.inbox.auto_assign:
            conversation.queued_at = timezone.now()
            Conversation.objects.filter(pk=conversation.pk).update(queued_at=conversation.queued_at)
        conversation_publish(organization, conversation)
        if previous and previous != (agent.pk if agent else None):
            transaction.on_commit(lambda: assignment_queue_drain(organization=organization))
    return conversation


def conversation_transfer(*, organization=None, conversation: Conversation, agent=None,
                          team: Team | None = None) -> Conversation:
    """Hand over to an agent, or to a team (whose online members are then tried in turn)."""
    if agent is None and team is None:
        raise AssignmentError("Transfer to an agent or a team.")
    organization = _org(organization)
    with transaction.atomic():
        _lock(organization)
        previous = Conversation.objects.filter(pk=conversation.pk).values_list("assignee_id", flat=True).first()
        if team is not None:
            conversation.team = team
            Conversation.objects.filter(pk=conversation.pk).update(team=team)
        if agent is not None:
            if not agent.is_active:
                raise AssignmentError("This agent is not active.")
            _set_assignee(conversation, agent.pk)
        else:
            _set_assignee(conversation, None)
            _auto_assign_locked(organization, conversation)  # or queued, when the inbox auto-assigns
        conversation_publish(organization, conversation)
        if previous and previous != conversation.assignee_id:
            transaction.on_commit(lambda: assignment_queue_drain(organization=organization))
    return conversation
