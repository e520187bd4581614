"""message_send_checked: the websocket hot path. Access check, bump, insert and usage row in
one autocommit statement; no match → None and nothing stored (the caller takes the full path)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import selectors, services
from chat.models import Conversation, Message
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory, new_client_id
from tests.factories import UserFactory


def _agent_in(inbox, email):
    user = UserFactory(email=email, role="agent")
    inbox.agents.add(user)
    return user


def _send(conversation, sender, access, **kw):
    return services.message_send_checked(
        conversation_id=conversation.pk, access=access, sender=sender, body=kw.pop("body", "olá"),
        client_id=kw.pop("client_id", None) or new_client_id(), **kw,
    )


def test_an_agent_in_scope_sends_in_one_statement_without_a_transaction(in_tenant_live):
    inbox = InboxFactory()
    conversation = ConversationFactory(inbox=inbox)
    agent = _agent_in(inbox, "escopo@alpha.example.com")
    access = selectors.agent_scope(user=agent).access()
    _send(conversation, agent, access, body="aquecimento")
    with CaptureQueriesContext(connection) as captured:
        message, created = _send(conversation, agent, access, body="segunda")
    statements = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(statements) == 1, statements
    assert created and message.seq == 2 and message.body == "segunda"
    conversation.refresh_from_db()
    assert conversation.last_seq == 2 and conversation.first_reply_at is not None


def test_out_of_scope_matches_nothing_and_stores_nothing(in_tenant_live):
    inbox, elsewhere = InboxFactory(), InboxFactory()
    conversation = ConversationFactory(inbox=inbox)
    outsider = _agent_in(elsewhere, "fora@alpha.example.com")
    _agent_in(inbox, "dona@alpha.example.com")  # inbox is restricted to its own agents
    assert _send(conversation, outsider, selectors.agent_scope(user=outsider).access()) is None
    conversation.refresh_from_db()
    assert conversation.last_seq == 0
    assert not Message.objects.filter(conversation=conversation).exists()


def test_an_assignee_may_send_outside_their_inboxes(in_tenant_live):
    inbox, elsewhere = InboxFactory(), InboxFactory()
    _agent_in(inbox, "dona2@alpha.example.com")
    outsider = _agent_in(elsewhere, "fora2@alpha.example.com")
    conversation = ConversationFactory(inbox=inbox, assignee=outsider)
    message, created = _send(conversation, outsider, selectors.agent_scope(user=outsider).access())
    assert created and message.seq == 1


def test_a_visitor_writes_only_to_their_own_open_conversation(in_tenant_live):
    conversation = ConversationFactory(contact=ContactFactory())
    contact = conversation.contact
    mine = selectors.contact_access(contact_id=contact.pk, inbox_id=conversation.inbox_id)
    assert _send(conversation, contact, mine)[0].seq == 1
    stranger = ContactFactory()
    theirs = selectors.contact_access(contact_id=stranger.pk, inbox_id=conversation.inbox_id)
    assert _send(conversation, stranger, theirs) is None
    other_inbox = selectors.contact_access(contact_id=contact.pk, inbox_id=InboxFactory().pk)
    assert _send(conversation, contact, other_inbox) is None
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.RESOLVED)
    assert _send(conversation, contact, mine) is None  # the full path reopens it
    conversation.refresh_from_db()
    assert conversation.last_seq == 1 and conversation.status == Conversation.Status.RESOLVED


def test_a_resend_in_autocommit_returns_the_original_and_leaves_no_gap(in_tenant_live):
    conversation = ConversationFactory()
    admin = UserFactory(email="admin-reenvio@alpha.example.com", role="admin")
    access = selectors.agent_scope(user=admin).access()
    cid = new_client_id()
    first, created = _send(conversation, admin, access, client_id=cid, body="original")
    again, created_again = _send(conversation, admin, access, client_id=cid, body="outra")
    assert created and not created_again
    assert (again.pk, again.seq, again.body) == (first.pk, 1, "original")
    assert _send(conversation, admin, access)[0].seq == 2


@pytest.mark.parametrize(
    "body, private, code",
    [("", False, "empty"), ("x" * (services.MAX_BODY + 1), False, "too_long"), (5, False, "bad_frame"), ("nota", True, "forbidden")],
)
def test_bad_visitor_messages_are_refused_and_nothing_is_stored(in_tenant, body, private, code):
    conversation = ConversationFactory(contact=ContactFactory())
    access = selectors.contact_access(contact_id=conversation.contact_id, inbox_id=conversation.inbox_id)
    with pytest.raises(services.MessageError) as exc:
        _send(conversation, conversation.contact, access, body=body, is_private=private)
    assert exc.value.code == code
    conversation.refresh_from_db()
    assert conversation.last_seq == 0
