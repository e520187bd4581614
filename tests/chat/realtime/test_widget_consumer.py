"""`/ws/widget/<key>/`: the visitor's token, opening a conversation, and every cross-visitor attempt."""

from __future__ import annotations

import pytest

from chat.models import Conversation, Message, ReadReceipt
from chat.services.visitors import visitor_token
from tests.chat.realtime.helpers import agent_socket, connected, in_tenant, send_frame, widget_socket
from tests.ws import communicator, receive_until


def snapshot(world):
    """Everything a refused attempt must leave as it was."""

    def read():
        return (
            list(Message.objects.order_by("pk").values_list("pk", "conversation_id", "seq", "body")),
            list(Conversation.objects.order_by("pk").values_list("pk", "last_seq", "status", "assignee_id")),
            list(ReadReceipt.objects.values_list("conversation_id", "last_read_seq")),
        )

    return in_tenant(world.org, read)()


# --- connecting -----------------------------------------------------------------------


async def test_visitor_token_connects_to_its_inbox(world):
    comm = await connected(widget_socket(world))
    await comm.disconnect()


@pytest.mark.parametrize("token", ["", "garbage", "orb_looks-like-an-api-token"])
async def test_missing_or_bad_token_is_refused(world, token):
    assert not (await widget_socket(world, token=token).connect())[0]


async def test_an_agents_api_token_is_not_a_visitor_token(world):
    assert not (await widget_socket(world, token=world.token).connect())[0]


async def test_a_token_of_another_inbox_is_refused(world):
    other = await in_tenant(world.org, lambda: visitor_token(inbox=world.other_inbox, contact=world.contact))()
    assert not (await widget_socket(world, token=other).connect())[0]
    # and the right token on the wrong inbox's path
    assert not (await widget_socket(world, key=world.other_inbox.public_key).connect())[0]


async def test_a_token_of_tenant_a_is_worthless_on_tenant_b(world, world_b):
    # B's host with A's inbox key: no such inbox in B.
    assert not (await widget_socket(world, host=world_b.host).connect())[0]
    # B's host with B's inbox key and A's token: the signature names A's schema and inbox.
    assert not (await widget_socket(world_b, token=world.visitor_token).connect())[0]


async def test_unknown_inbox_key_and_foreign_origin_are_refused(world):
    assert not (await widget_socket(world, key="nope").connect())[0]
    assert not (await widget_socket(world, origin="https://attacker.example").connect())[0]


# --- messages -------------------------------------------------------------------------


async def test_first_message_with_no_conversation_opens_one_and_resend_is_idempotent(world):
    def fresh_visitor():
        from tests.chat.factories import ContactFactory

        contact = ContactFactory()
        return contact, visitor_token(inbox=world.inbox, contact=contact)

    contact, token = await in_tenant(world.org, fresh_visitor)()
    agents = await connected(agent_socket(world))
    comm = await connected(widget_socket(world, token=token))
    frame = send_frame(None, "Preciso de ajuda")
    await comm.send_json_to(frame)
    ack = await receive_until(comm, "message.ack")
    assert ack["seq"] == 1 and ack["client_id"] == frame["client_id"] and ack["conversation"]
    new = await receive_until(comm, "message.new")
    assert new["sender"] == {"type": "contact", "id": contact.pk} and new["id"] == ack["id"]
    updated = await receive_until(agents, "conversation.updated")
    assert updated["conversation"] == ack["conversation"] and updated["status"] == "open"

    # The ack was lost, the widget still thinks it has no conversation: same answer, one conversation.
    await comm.send_json_to(frame)
    assert await receive_until(comm, "message.ack") == ack
    count = await in_tenant(world.org, lambda: Conversation.objects.filter(contact=contact).count())()
    assert count == 1
    # The next message without a conversation goes to the same, current conversation.
    await comm.send_json_to(send_frame(None, "Alô?"))
    second = await receive_until(comm, "message.ack")
    assert (second["conversation"], second["seq"]) == (ack["conversation"], 2)
    await comm.disconnect()
    await agents.disconnect()


async def test_visitor_resume_after_reconnect_gets_what_was_missed(world):
    conv = world.conversation.pk
    agent = await connected(agent_socket(world))
    visitor = await connected(widget_socket(world))
    await visitor.send_json_to(send_frame(conv, "oi"))
    ack = await receive_until(visitor, "message.ack")
    await visitor.disconnect()
    for body in ("resposta 1", "resposta 2"):
        await agent.send_json_to(send_frame(conv, body))
        await receive_until(agent, "message.ack")
    visitor = await connected(widget_socket(world))
    await visitor.send_json_to({"type": "resume", "conversation": conv, "after_seq": ack["seq"]})
    got = []
    while (frame := await visitor.receive_json_from())["type"] != "resume.done":
        got.append((frame["seq"], frame["body"], frame["sender"]["type"]))
    assert got == [(2, "resposta 1", "agent"), (3, "resposta 2", "agent")]
    await visitor.disconnect()
    await agent.disconnect()


async def test_every_attempt_on_another_visitors_conversation_is_refused_and_changes_nothing(world):
    theirs = world.strangers_conversation.pk
    stranger = await connected(widget_socket(world, token=world.stranger_token))
    await stranger.send_json_to(send_frame(theirs, "minha conversa"))
    await receive_until(stranger, "message.ack")  # the sending socket gets no message.new of its own
    before = await snapshot(world)

    comm = await connected(widget_socket(world))
    for frame in (
        send_frame(theirs, "intruso"),
        {"type": "resume", "conversation": theirs, "after_seq": 0},
        {"type": "read", "conversation": theirs, "seq": 1},
        {"type": "typing", "conversation": theirs, "state": "on"},
        send_frame(999_999, "nada"),
    ):
        await comm.send_json_to(frame)
        error = await receive_until(comm, "error")
        assert (error["code"], error["message"]) == ("not_found", "Conversation not found.")
    assert await snapshot(world) == before
    assert await stranger.receive_nothing(timeout=0.3)  # no typing, no read reached them
    # Frames only a socket of agents knows are unknown here.
    await comm.send_json_to({"type": "subscribe", "conversation": theirs})
    assert (await receive_until(comm, "error"))["code"] == "bad_frame"
    await comm.send_json_to(send_frame(world.conversation.pk, "nota?", private=True))
    assert (await receive_until(comm, "error"))["code"] == "forbidden"
    assert await snapshot(world) == before
    await comm.disconnect()
    await stranger.disconnect()


async def test_another_visitors_messages_never_reach_this_socket(world):
    comm = await connected(widget_socket(world))
    stranger = await connected(widget_socket(world, token=world.stranger_token))
    await stranger.send_json_to(send_frame(world.strangers_conversation.pk, "privado"))
    await receive_until(stranger, "message.ack")
    agent = await connected(agent_socket(world))
    await agent.send_json_to(send_frame(world.strangers_conversation.pk, "resposta privada"))
    await receive_until(stranger, "message.new")
    assert await comm.receive_nothing(timeout=0.3)
    for c in (comm, stranger, agent):
        await c.disconnect()


async def test_the_sending_socket_gets_the_ack_and_the_visitors_other_tabs_the_message(world):
    sender = await connected(widget_socket(world))
    other_tab = await connected(widget_socket(world))
    frame = send_frame(world.conversation.pk, "de uma aba")
    await sender.send_json_to(frame)
    ack = await receive_until(sender, "message.ack")
    new = await receive_until(other_tab, "message.new")
    assert (new["id"], new["seq"], new["client_id"]) == (ack["id"], ack["seq"], frame["client_id"])
    assert await sender.receive_nothing(timeout=0.3)
    for c in (sender, other_tab):
        await c.disconnect()


async def test_visitor_message_to_a_resolved_conversation_reopens_it(world):
    from chat import services

    conv = world.conversation
    await in_tenant(world.org, lambda: services.conversation_set_status(conversation=conv, status="resolved"))()
    comm = await connected(widget_socket(world))
    await comm.send_json_to(send_frame(conv.pk, "voltei"))
    await receive_until(comm, "message.ack")
    updated = await receive_until(comm, "conversation.updated")
    assert updated == {"type": "conversation.updated", "conversation": conv.pk, "status": "open", "assignee": None, "last_seq": 1}
    await comm.disconnect()


async def test_idle_socket_survives_and_a_burst_of_connections_works(world):
    comms = [widget_socket(world) for _ in range(100)]
    results = [await c.connect() for c in comms]
    assert all(ok for ok, _ in results)
    agent = await connected(agent_socket(world))
    await agent.send_json_to(send_frame(world.conversation.pk, "para todos"))
    for c in comms:
        assert (await receive_until(c, "message.new"))["body"] == "para todos"
    for c in comms:
        await c.disconnect()
    await agent.disconnect()


async def test_the_same_visitor_on_another_host_of_its_tenant_is_fine_but_not_elsewhere(world, world_b):
    comm = communicator(world_b.host, path=f"/ws/widget/{world_b.inbox.public_key}/?token={world.visitor_token}")
    assert not (await comm.connect())[0]
