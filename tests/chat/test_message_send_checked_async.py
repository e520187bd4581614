"""message_send_checked_async: the websocket hot path on the event loop (orbit.lib.adb). The
same statement as message_send_checked, with the tenant's tables named by schema; None
(nothing stored) when it matches nothing or on a resend, so the caller takes the sync path."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from django_tenants.utils import tenant_context

from billing.models import UsageEvent
from chat import selectors, services
from chat.models import Conversation, Message
from chat.realtime import groups
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory, new_client_id
from tests.factories import UserFactory


@pytest.fixture
def scene(live_db, tenant, other_tenant):
    """Tenant A: a conversation with its visitor, an admin; tenant B: a conversation of its own."""
    with tenant_context(tenant):
        conversation = ConversationFactory(contact=ContactFactory())
        admin = UserFactory(email="admin-async@alpha.example.com", role="admin")
    with tenant_context(other_tenant):
        theirs = ConversationFactory(contact=ContactFactory())
    return SimpleNamespace(tenant=tenant, other=other_tenant, conversation=conversation, admin=admin, theirs=theirs)


def in_schema(organization, func):
    def run():
        with tenant_context(organization):
            return func()

    return database_sync_to_async(run)()


async def send(organization, conversation_id, sender, access, **kw):
    return await services.message_send_checked_async(
        organization=organization, conversation_id=conversation_id, access=access, sender=sender,
        body=kw.pop("body", "olá"), client_id=kw.pop("client_id", None) or new_client_id(), **kw,
    )


def visitor_access(conversation):
    return selectors.contact_access(contact_id=conversation.contact_id, inbox_id=conversation.inbox_id)


async def test_a_visitor_message_is_stored_metered_and_published(scene):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    watcher = await layer.new_channel()
    await layer.group_add(groups.conversation(scene.tenant, scene.conversation.pk), watcher)

    message, created = await send(scene.tenant, scene.conversation.pk, scene.conversation.contact,
                                  visitor_access(scene.conversation), body="pelo laço de eventos")
    assert created and message.seq == 1 and message.pk

    event = await asyncio.wait_for(layer.receive(watcher), 5)
    assert '"body":"pelo laço de eventos"' in event["text"] and '"seq":1' in event["text"]

    def stored():
        conversation = Conversation.objects.get(pk=scene.conversation.pk)
        row = Message.objects.get(pk=message.pk)
        metered = UsageEvent.objects.filter(organization_id=scene.tenant.pk, idempotency_key=f"msg:{scene.tenant.pk}:{message.pk}")
        return conversation.last_seq, row.body, row.sender_type, metered.count()

    assert await in_schema(scene.tenant, stored) == (1, "pelo laço de eventos", Message.Sender.CONTACT, 1)
    await layer.group_discard(groups.conversation(scene.tenant, scene.conversation.pk), watcher)


async def test_an_agent_message_and_a_private_note(scene):
    access = await in_schema(scene.tenant, lambda: selectors.agent_scope(user=scene.admin).access())
    reply, _ = await send(scene.tenant, scene.conversation.pk, scene.admin, access, body="resposta")
    note, _ = await send(scene.tenant, scene.conversation.pk, scene.admin, access, body="nota", is_private=True)
    assert (reply.seq, reply.sender_type, reply.is_private) == (1, Message.Sender.AGENT, False)
    assert (note.seq, note.is_private, note.sender_user_id) == (2, True, scene.admin.pk)
    first_reply = await in_schema(scene.tenant, lambda: Conversation.objects.get(pk=scene.conversation.pk).first_reply_at)
    assert first_reply is not None


async def test_a_resend_returns_none_and_leaves_the_original_alone(scene):
    cid = new_client_id()
    access = visitor_access(scene.conversation)
    assert (await send(scene.tenant, scene.conversation.pk, scene.conversation.contact, access, client_id=cid, body="1ª"))[1]
    assert await send(scene.tenant, scene.conversation.pk, scene.conversation.contact, access, client_id=cid, body="2ª") is None
    rows = await in_schema(scene.tenant, lambda: list(Message.objects.filter(conversation_id=scene.conversation.pk)
                                                      .values_list("seq", "body")))
    assert rows == [(1, "1ª")]
    # The sync path the consumer falls back to gives the original back.
    original = await in_schema(scene.tenant, lambda: services.message_send_checked(
        conversation_id=scene.conversation.pk, access=access, sender=scene.conversation.contact, body="2ª", client_id=cid))
    assert (original[0].seq, original[0].body, original[1]) == (1, "1ª", False)


@pytest.mark.parametrize(
    "body, private, code",
    [("", False, "empty"), ("x" * (services.MAX_BODY + 1), False, "too_long"), (None, False, "bad_frame"), ("nota", True, "forbidden")],
)
async def test_bad_visitor_messages_are_refused_and_nothing_is_stored(scene, body, private, code):
    with pytest.raises(services.MessageError) as exc:
        await send(scene.tenant, scene.conversation.pk, scene.conversation.contact, visitor_access(scene.conversation),
                   body=body, is_private=private)
    assert exc.value.code == code
    assert await in_schema(scene.tenant, lambda: Conversation.objects.get(pk=scene.conversation.pk).last_seq) == 0


async def test_another_tenants_conversation_is_out_of_reach(scene):
    """Tenant A's socket naming tenant B's conversation (ids overlap between schemas): the
    statement runs on A's tables only. Whatever it matches there is A's own row under A's
    access check; B's conversation and messages never change."""
    for sender, access in [(scene.theirs.contact, visitor_access(scene.theirs)),
                           (scene.conversation.contact, visitor_access(scene.conversation))]:
        sent = await send(scene.tenant, scene.theirs.pk, sender, access)
        if sent is not None:  # A has a conversation of that id that this visitor may write to
            mine = await in_schema(scene.tenant, lambda sent=sent: Message.objects.filter(pk=sent[0].pk).exists())
            assert mine
    last_seq, count = await in_schema(scene.other, lambda: (Conversation.objects.get(pk=scene.theirs.pk).last_seq,
                                                            Message.objects.count()))
    assert (last_seq, count) == (0, 0)


async def test_a_resolved_or_someone_elses_conversation_matches_nothing(scene):
    other_visitor = await in_schema(scene.tenant, lambda: ContactFactory())
    other_access = selectors.contact_access(contact_id=other_visitor.pk, inbox_id=scene.conversation.inbox_id)
    assert await send(scene.tenant, scene.conversation.pk, other_visitor, other_access) is None
    elsewhere = await in_schema(scene.tenant, lambda: InboxFactory())
    moved = selectors.contact_access(contact_id=scene.conversation.contact_id, inbox_id=elsewhere.pk)
    assert await send(scene.tenant, scene.conversation.pk, scene.conversation.contact, moved) is None
    await in_schema(scene.tenant, lambda: Conversation.objects.filter(pk=scene.conversation.pk)
                    .update(status=Conversation.Status.RESOLVED))
    assert await send(scene.tenant, scene.conversation.pk, scene.conversation.contact,
                      visitor_access(scene.conversation)) is None
    assert await in_schema(scene.tenant, lambda: Conversation.objects.get(pk=scene.conversation.pk).last_seq) == 0
