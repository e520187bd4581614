"""message_send_async: THE send path of a websocket frame. One statement per message, run once,
and a typed answer for every case (stored, duplicate, not found, a visitor's first message, a
reopen) without running it again."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from django_tenants.utils import tenant_context

from chat import selectors, services
from chat.models import Conversation, Message
from chat.services import Outcome
from orbit.lib import adb
from tests.chat.factories import ContactFactory, ConversationFactory, new_client_id
from tests.factories import UserFactory


@pytest.fixture
def scene(live_db, tenant):
    with tenant_context(tenant):
        conversation = ConversationFactory(contact=ContactFactory())
        admin = UserFactory(email="admin-send@alpha.example.com", role="admin")
        access = selectors.agent_scope(user=admin).access()
    return SimpleNamespace(tenant=tenant, conversation=conversation, admin=admin, access=access)


@pytest.fixture
def statements(monkeypatch):
    """Every statement run on the event loop for a message (orbit.lib.adb)."""
    seen = []
    real = adb.fetchone

    async def counting(sql, params):
        seen.append(sql)
        return await real(sql, params)

    monkeypatch.setattr(adb, "fetchone", counting)
    return seen


def in_schema(organization, func):
    def run():
        with tenant_context(organization):
            return func()

    return database_sync_to_async(run)()


async def send(scene, conversation_id, sender, access, **kw):
    return await services.message_send_async(
        organization=scene.tenant, conversation_id=conversation_id, access=access, sender=sender,
        body=kw.pop("body", "olá"), client_id=kw.pop("client_id", None) or new_client_id(), **kw)


async def test_stored_and_a_resend_each_cost_one_statement(scene, statements):
    cid = new_client_id()
    sent = await send(scene, scene.conversation.pk, scene.admin, scene.access, client_id=cid, body="primeira")
    assert (sent.outcome, sent.created, sent.message.seq) == (Outcome.STORED, True, 1)
    assert len(statements) == 1
    again = await send(scene, scene.conversation.pk, scene.admin, scene.access, client_id=cid, body="de novo")
    assert (again.outcome, again.created) == (Outcome.DUPLICATE, False)
    assert (again.message.pk, again.message.seq, again.message.body) == (sent.message.pk, 1, "primeira")
    assert len(statements) == 2  # the resend: one statement, nothing run again
    message, created = again  # still unpacks as (message, created)
    assert message.pk == sent.message.pk and not created


async def test_not_found_is_one_statement_and_an_error(scene, statements):
    stranger = await in_schema(scene.tenant, lambda: ContactFactory())
    access = selectors.contact_access(contact_id=stranger.pk, inbox_id=scene.conversation.inbox_id)
    for conversation_id in (scene.conversation.pk, 999_999):
        with pytest.raises(services.MessageError) as exc:
            await send(scene, conversation_id, stranger, access)
        assert (exc.value.code, str(exc.value)) == ("not_found", "Conversation not found.")
    assert len(statements) == 2
    assert await in_schema(scene.tenant, lambda: Conversation.objects.get(pk=scene.conversation.pk).last_seq) == 0


async def test_a_visitor_reopens_their_resolved_conversation(scene, statements):
    contact = scene.conversation.contact
    inbox = await in_schema(scene.tenant, lambda: scene.conversation.inbox)
    await in_schema(scene.tenant, lambda: Conversation.objects.filter(pk=scene.conversation.pk)
                    .update(status=Conversation.Status.RESOLVED))
    access = selectors.contact_access(contact_id=contact.pk, inbox_id=inbox.pk)
    sent = await send(scene, scene.conversation.pk, contact, access, inbox=inbox, body="voltei")
    assert (sent.outcome, sent.message.seq) == (Outcome.REOPENED, 1)
    assert len(statements) == 1  # it stored nothing: the reopen stores the message, once
    status, bodies = await in_schema(scene.tenant, lambda: (
        Conversation.objects.get(pk=scene.conversation.pk).status,
        list(Message.objects.filter(conversation=scene.conversation).values_list("body", flat=True))))
    assert status == Conversation.Status.OPEN and bodies == ["voltei"]


async def test_a_visitors_first_message_opens_a_conversation(scene, statements):
    contact = await in_schema(scene.tenant, lambda: ContactFactory())
    inbox = await in_schema(scene.tenant, lambda: scene.conversation.inbox)
    access = selectors.contact_access(contact_id=contact.pk, inbox_id=inbox.pk)
    cid = new_client_id()
    sent = await send(scene, None, contact, access, inbox=inbox, client_id=cid, body="oi")
    assert sent.outcome is Outcome.OPENED and sent.message.seq == 1
    again = await send(scene, None, contact, access, inbox=inbox, client_id=cid, body="oi")
    assert again.outcome is Outcome.DUPLICATE and again.message.pk == sent.message.pk
    assert statements == []  # no conversation yet: the visitor path in a database thread


async def test_without_an_inbox_a_missing_conversation_is_not_found(scene):
    with pytest.raises(services.MessageError):
        await send(scene, None, scene.admin, scene.access)
