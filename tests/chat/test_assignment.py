"""Auto-assignment: round-robin among online agents within capacity, the FIFO queue, manual
assign / transfer, and the last free slot raced for by real threads."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat import services
from chat.models import Conversation
from chat.services import presence
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory, TeamFactory
from tests.factories import UserFactory


def online(*users):
    for user in users:
        presence.presence_connect(user=user, connection_id=f"test-{user.pk}")


def open_conv(inbox):
    return services.conversation_open(inbox=inbox, contact=ContactFactory())


@pytest.fixture
def inbox(in_tenant):
    return InboxFactory(auto_assign=True, auto_assign_capacity=2)


def test_round_robin_among_online_agents(inbox):
    a, b, off = UserFactory(), UserFactory(), UserFactory()
    inbox.agents.add(a, b, off)
    online(a, b)
    assignees = [open_conv(inbox).assignee_id for _ in range(4)]
    assert sorted(assignees) == sorted([a.pk, b.pk, a.pk, b.pk])
    assert assignees[0] != assignees[1] and assignees[2] != assignees[3]
    assert off.pk not in assignees


def test_busy_and_offline_agents_get_nothing_and_full_agents_queue(inbox):
    a, b = UserFactory(), UserFactory()
    inbox.agents.add(a, b)
    online(a, b)
    presence.presence_set(user=b, state="busy")
    first, second, third = open_conv(inbox), open_conv(inbox), open_conv(inbox)
    assert (first.assignee_id, second.assignee_id) == (a.pk, a.pk)
    third.refresh_from_db()
    assert third.assignee_id is None and third.queued_at is not None


def test_queue_is_fifo_and_drains_as_capacity_frees(inbox):
    a = UserFactory()
    inbox.agents.add(a)
    online(a)
    busy = [open_conv(inbox) for _ in range(2)]
    waiting = [open_conv(inbox) for _ in range(3)]
    for conv in waiting:
        conv.refresh_from_db()
        assert conv.assignee_id is None and conv.queued_at
    services.conversation_set_status(conversation=busy[0], status="resolved")
    services.assignment_queue_drain()  # what on_commit does after the resolve
    states = [Conversation.objects.get(pk=c.pk).assignee_id for c in waiting]
    assert states == [a.pk, None, None]  # the oldest first
    services.conversation_transfer(conversation=busy[1], agent=UserFactory())
    services.assignment_queue_drain()
    states = [Conversation.objects.get(pk=c.pk).assignee_id for c in waiting]
    assert states == [a.pk, a.pk, None]


def test_an_agent_coming_online_takes_from_the_queue(inbox):
    a = UserFactory()
    inbox.agents.add(a)
    conv = open_conv(inbox)
    conv.refresh_from_db()
    assert conv.queued_at is not None
    online(a)
    services.assignment_queue_drain()
    conv.refresh_from_db()
    assert conv.assignee_id == a.pk and conv.queued_at is None


def test_team_pool_includes_nested_departments(inbox):
    parent = TeamFactory()
    child = TeamFactory(parent=parent)
    member = UserFactory()
    child.members.add(member)
    outsider = UserFactory()
    online(member, outsider)
    inbox.auto_assign_team = parent
    inbox.save()
    assert open_conv(inbox).assignee_id == member.pk


def test_transfer_to_a_team_assigns_its_online_member(inbox):
    a, sales_agent = UserFactory(), UserFactory()
    inbox.agents.add(a)
    online(a, sales_agent)
    sales = TeamFactory()
    sales.members.add(sales_agent)
    conv = open_conv(inbox)
    assert conv.assignee_id == a.pk
    services.conversation_transfer(conversation=conv, team=sales)
    conv.refresh_from_db()
    assert (conv.team_id, conv.assignee_id) == (sales.pk, sales_agent.pk)


def test_manual_assign_ignores_capacity_and_unassign_queues(inbox):
    a = UserFactory()
    inbox.agents.add(a)
    online(a)
    convs = [ConversationFactory(inbox=inbox) for _ in range(3)]
    for conv in convs:
        services.conversation_assign(conversation=conv, agent=a)
    assert Conversation.objects.filter(assignee=a).count() == 3
    services.conversation_assign(conversation=convs[0], agent=None)
    convs[0].refresh_from_db()
    assert convs[0].assignee_id is None and convs[0].queued_at is not None


def test_inactive_agent_cannot_be_assigned(inbox):
    conv = ConversationFactory(inbox=inbox)
    with pytest.raises(services.AssignmentError):
        services.conversation_assign(conversation=conv, agent=UserFactory(is_active=False))


def test_auto_resolve_after_inactivity(in_tenant):
    inbox = InboxFactory(auto_resolve_after=dt.timedelta(hours=1))
    never = InboxFactory()
    old = ConversationFactory(inbox=inbox, last_activity_at=timezone.now() - dt.timedelta(hours=2))
    fresh = ConversationFactory(inbox=inbox)
    old_elsewhere = ConversationFactory(inbox=never, last_activity_at=timezone.now() - dt.timedelta(days=9))
    assert services.conversations_auto_resolve() == 1
    statuses = {c.pk: Conversation.objects.get(pk=c.pk).status for c in (old, fresh, old_elsewhere)}
    assert statuses == {old.pk: "resolved", fresh.pk: "open", old_elsewhere.pk: "open"}
    assert Conversation.objects.get(pk=old.pk).resolved_at is not None


def test_auto_resolve_task_runs_per_tenant(live_db, tenant, other_tenant):
    from chat.tasks import conversations_auto_resolve

    for org in (tenant, other_tenant):
        with tenant_context(org):
            inbox = InboxFactory(auto_resolve_after=dt.timedelta(minutes=30))
            ConversationFactory(inbox=inbox, last_activity_at=timezone.now() - dt.timedelta(hours=1))
    assert conversations_auto_resolve() == 2


# --- concurrency ----------------------------------------------------------------------


def test_two_conversations_racing_for_the_last_slot(in_tenant_live, tenant):
    inbox = InboxFactory(auto_assign=True, auto_assign_capacity=1)
    agent = UserFactory()
    inbox.agents.add(agent)
    online(agent)
    contacts = [ContactFactory() for _ in range(6)]
    barrier = threading.Barrier(len(contacts))
    errors = []

    def race(contact):
        try:
            with tenant_context(tenant):
                barrier.wait()
                services.conversation_open(inbox=inbox, contact=contact)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=race, args=(c,)) for c in contacts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert Conversation.objects.filter(assignee=agent).count() == 1
    assert Conversation.objects.filter(assignee__isnull=True, queued_at__isnull=False).count() == 5
