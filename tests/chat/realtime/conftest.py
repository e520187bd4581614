"""A committed world in two tenants for the socket tests: inboxes, agents with API tokens,
visitors with tokens, conversations. Ids are chosen so that tenant B has conversation ids
tenant A does not: a cross-tenant attempt names a real row, just not one of A's."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.models import ApiToken
from chat.services.visitors import visitor_token
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory
from tests.factories import UserFactory
from tests.ws import primary_host


def _world(organization, n_conversations: int):
    with tenant_context(organization):
        inbox = InboxFactory(name=f"Site {organization.slug}")
        other_inbox = InboxFactory(name=f"Outro {organization.slug}")
        agent = UserFactory(email=f"agente@{organization.slug}.example.com", name="Ana", role="admin")
        _, token = ApiToken.objects.issue(user=agent, name="bot")
        contact, stranger = ContactFactory(), ContactFactory()
        conversations = [ConversationFactory(inbox=inbox, contact=contact) for _ in range(n_conversations)]
        strangers_conversation = ConversationFactory(inbox=inbox, contact=stranger)
        world = SimpleNamespace(
            org=organization,
            host=primary_host(organization),
            inbox=inbox,
            other_inbox=other_inbox,
            agent=agent,
            token=token,
            contact=contact,
            visitor_token=visitor_token(inbox=inbox, contact=contact),
            stranger=stranger,
            stranger_token=visitor_token(inbox=inbox, contact=stranger),
            conversation=conversations[0],
            conversations=conversations,
            strangers_conversation=strangers_conversation,
        )
    connection.set_schema_to_public()
    return world


@pytest.fixture
def world(live_db, tenant):
    return _world(tenant, 1)


@pytest.fixture
def world_b(live_db, other_tenant):
    return _world(other_tenant, 4)
