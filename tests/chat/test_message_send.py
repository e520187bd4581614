"""message_send: dense seqs, idempotent resends, first reply, refusals that store nothing."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from chat import services
from chat.models import Conversation, Message
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory, message_count, new_client_id
from tests.factories import UserFactory


@pytest.fixture
def conversation(in_tenant):
    return ConversationFactory()


def test_seq_is_per_conversation_and_dense(conversation, agent):
    other = ConversationFactory()
    seqs = [services.message_send(conversation=conversation, sender=agent, body=f"m{i}", client_id=new_client_id())[0].seq for i in range(3)]
    assert seqs == [1, 2, 3]
    assert services.message_send(conversation=other, sender=other.contact, body="oi", client_id=new_client_id())[0].seq == 1
    conversation.refresh_from_db()
    assert conversation.last_seq == 3


def test_resend_returns_the_original_and_stores_nothing(conversation, agent):
    cid = new_client_id()
    first, created = services.message_send(conversation=conversation, sender=agent, body="olá", client_id=cid)
    assert created
    again, created_again = services.message_send(conversation=conversation, sender=agent, body="changed", client_id=cid)
    assert not created_again
    assert (again.pk, again.seq, again.body) == (first.pk, first.seq, "olá")
    conversation.refresh_from_db()
    assert conversation.last_seq == 1  # no gap left by the refused bump
    nxt, _ = services.message_send(conversation=conversation, sender=agent, body="next", client_id=new_client_id())
    assert nxt.seq == 2


def test_same_client_id_in_another_conversation_is_another_message(conversation, agent):
    cid = new_client_id()
    services.message_send(conversation=conversation, sender=agent, body="a", client_id=cid)
    other = ConversationFactory()
    _, created = services.message_send(conversation=other, sender=agent, body="b", client_id=cid)
    assert created


def test_first_reply_is_the_first_public_agent_message(conversation, agent):
    services.message_send(conversation=conversation, sender=conversation.contact, body="oi", client_id=new_client_id())
    services.message_send(conversation=conversation, sender=agent, body="nota", client_id=new_client_id(), is_private=True)
    conversation.refresh_from_db()
    assert conversation.first_reply_at is None
    reply, _ = services.message_send(conversation=conversation, sender=agent, body="olá!", client_id=new_client_id())
    services.message_send(conversation=conversation, sender=agent, body="de novo", client_id=new_client_id())
    conversation.refresh_from_db()
    assert conversation.first_reply_at == reply.created_at
    assert conversation.last_activity_at >= reply.created_at


@pytest.mark.parametrize(
    ("body", "client_id", "code"),
    [
        ("x" * (services.MAX_BODY + 1), None, "too_long"),
        ("   ", None, "empty"),
        (42, None, "bad_frame"),
        ("ok", "not-a-uuid", "bad_frame"),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_stored(conversation, agent, body, client_id, code):
    with pytest.raises(services.MessageError) as exc:
        services.message_send(conversation=conversation, sender=agent, body=body, client_id=client_id or new_client_id())
    assert exc.value.code == code
    assert message_count(conversation) == 0
    conversation.refresh_from_db()
    assert conversation.last_seq == 0


def test_body_at_the_limit_is_accepted(conversation, agent):
    message, created = services.message_send(
        conversation=conversation, sender=agent, body="x" * services.MAX_BODY, client_id=new_client_id()
    )
    assert created and len(message.body) == services.MAX_BODY


def test_a_contact_cannot_write_a_private_note(conversation):
    with pytest.raises(services.MessageError):
        services.message_send(
            conversation=conversation, sender=conversation.contact, body="x", client_id=new_client_id(), is_private=True
        )
    assert message_count(conversation) == 0


def test_missing_conversation_is_refused(conversation, agent):
    ghost = Conversation(pk=10**9, inbox=conversation.inbox, contact=conversation.contact)
    with pytest.raises(services.MessageError) as exc:
        services.message_send(conversation=ghost, sender=agent, body="x", client_id=new_client_id())
    assert exc.value.code == "not_found"


def test_message_is_metered_once_per_message(conversation, agent):
    from billing.models import UsageEvent

    cid = new_client_id()
    m, _ = services.message_send(conversation=conversation, sender=agent, body="a", client_id=cid)
    services.message_send(conversation=conversation, sender=agent, body="a", client_id=cid)
    keys = list(UsageEvent.objects.filter(metric="message").values_list("idempotency_key", flat=True))
    assert keys == [f"msg:{connection.tenant.pk}:{m.pk}"]


# --- concurrency ----------------------------------------------------------------------


def _in_threads(tenant, n, work):
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            with tenant_context(tenant):
                barrier.wait()
                results[i] = work(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def test_concurrent_senders_get_dense_unique_seqs(in_tenant_live, tenant):
    inbox = InboxFactory()
    conversation = ConversationFactory(inbox=inbox)
    agent = UserFactory()

    def send(i):
        return [
            services.message_send(conversation=conversation, sender=agent, body=f"{i}-{k}", client_id=uuid.uuid4())[0].seq
            for k in range(10)
        ]

    seqs = sorted(s for batch in _in_threads(tenant, 8, send) for s in batch)
    assert seqs == list(range(1, 81))
    assert list(Message.objects.filter(conversation=conversation).values_list("seq", flat=True)) == seqs


def test_concurrent_resends_of_one_client_id_store_one_message(in_tenant_live, tenant):
    conversation = ConversationFactory(contact=ContactFactory())
    cid = uuid.uuid4()

    def send(i):
        message, created = services.message_send(conversation=conversation, sender=conversation.contact, body="x", client_id=cid)
        return message.pk, message.seq, created

    results = _in_threads(tenant, 6, send)
    assert len({(pk, seq) for pk, seq, _ in results}) == 1
    assert sum(created for *_, created in results) == 1
    conversation.refresh_from_db()
    assert conversation.last_seq == 1


def test_the_hot_path_reference_has_the_right_columns(conversation, agent):
    from chat import selectors

    services.conversation_assign(conversation=conversation, agent=agent)
    services.conversation_set_status(conversation=conversation, status="pending")
    services.message_send(conversation=conversation, sender=agent, body="x", client_id=new_client_id())
    scope = selectors.agent_scope(user=agent)
    ref = selectors.conversation_ref_for_agent(scope=scope, conversation_id=conversation.pk)
    mine = selectors.conversation_for_contact(
        contact_id=conversation.contact_id, inbox_id=conversation.inbox_id, conversation_id=conversation.pk
    )
    for found in (ref, mine):
        assert (found.pk, found.inbox_id, found.contact_id, found.assignee_id, found.team_id, found.status, found.last_seq) == (
            conversation.pk, conversation.inbox_id, conversation.contact_id, agent.pk, None, "pending", 1
        )


def test_a_rolled_back_message_leaves_no_usage(conversation, agent):
    from django.db import transaction

    from billing.models import UsageEvent

    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_send(conversation=conversation, sender=agent, body="a", client_id=new_client_id())
        raise RuntimeError
    assert not Message.objects.filter(conversation=conversation).exists()
    assert not UsageEvent.objects.filter(metric="message").exists()


def test_message_and_its_usage_are_one_statement(conversation, agent):
    from django.test.utils import CaptureQueriesContext

    from billing.models import UsageEvent

    services.message_send(conversation=conversation, sender=agent, body="warm", client_id=new_client_id())
    with CaptureQueriesContext(connection) as captured:
        m, _ = services.message_send(conversation=conversation, sender=agent, body="a", client_id=new_client_id())
    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()]
    assert len(statements) == 1, statements
    assert UsageEvent.objects.filter(idempotency_key=f"msg:{connection.tenant.pk}:{m.pk}").count() == 1
