"""Chat's message send records who acted (tenants.dashboard.activity): an agent by e-mail, a
visitor by contact, per organization and day; system messages are nobody. The async path
(the websocket event loop) never touches the database itself, and the send stays one statement."""

from __future__ import annotations

import asyncio

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat import services
from tenants.dashboard import activity
from tenants.dashboard.models import ActivityDay
from tests.chat.factories import ConversationFactory, new_client_id
from tests.factories import UserFactory


@pytest.fixture
def in_tenant(db, tenant):
    activity.forget()
    ActivityDay.objects.all().delete()
    with tenant_context(tenant):
        yield tenant
    connection.set_schema_to_public()


def test_agent_and_visitor_messages_are_activity(in_tenant):
    agent = UserFactory(email="Agente@alpha.example.com", name="Ana")
    conversation = ConversationFactory()
    for i in range(3):
        services.message_send(conversation=conversation, sender=agent, body=f"m{i}", client_id=new_client_id())
    services.message_send(conversation=conversation, sender=conversation.contact, body="oi", client_id=new_client_id())
    services.message_send(conversation=conversation, sender=None, body="sistema", client_id=new_client_id())
    assert not ActivityDay.objects.exists()  # nothing written on the sender's connection
    activity.flush()
    today = timezone.localdate()
    rows = {(r.kind, r.actor): r.actions for r in ActivityDay.objects.filter(organization_id=in_tenant.pk, day=today)}
    assert rows == {("agent", "agente@alpha.example.com"): 3, ("visitor", str(conversation.contact.pk)): 1}


def test_the_event_loop_path_only_counts_in_memory(tenant, monkeypatch):
    activity.forget()
    monkeypatch.setattr("tenants.dashboard.activity.flush_delay", lambda: 60.0)
    written = []
    monkeypatch.setattr("tenants.dashboard.activity._upsert", lambda rows: written.append(rows) or len(rows))
    agent = type("U", (), {"email": "x@alpha.example.com"})()

    async def on_the_loop():
        activity.activity_record(organization=tenant, kind="agent", user=agent)

    asyncio.run(on_the_loop())
    assert written == [] and activity.pending() == 1
    assert activity.flush() == 1 and activity.pending() == 0
