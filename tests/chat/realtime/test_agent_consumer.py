"""`/ws/agent/`: authentication, the message protocol, resume, subscriptions, presence, isolation."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from django.conf import settings
from django.test import Client

from chat import services
from chat.models import Conversation, Message, ReadReceipt
from tests.chat.realtime.helpers import agent_socket, connected, in_tenant, send_frame, widget_socket
from tests.factories import OWNER_PASSWORD, UserFactory
from tests.ws import communicator, receive_until


def count_messages(world):
    return in_tenant(world.org, lambda: Message.objects.count())()


# --- authentication -------------------------------------------------------------------


async def test_anonymous_agent_socket_is_refused(world):
    comm = communicator(world.host, path="/ws/agent/")
    assert not (await comm.connect())[0]


@pytest.mark.parametrize("header", [False, True])
async def test_api_token_authenticates_by_query_or_header(world, header):
    comm = await connected(agent_socket(world, header=header))
    await comm.send_json_to({"type": "subscribe", "conversation": world.conversation.pk})
    assert await receive_until(comm, "subscribed") == {"type": "subscribed", "conversation": world.conversation.pk, "last_seq": 0}
    await comm.disconnect()


@pytest.mark.parametrize("token", ["orb_not-a-real-token", "nonsense", ""])
async def test_bad_tokens_are_refused(world, token):
    assert not (await agent_socket(world, token=token).connect())[0]


async def test_a_token_of_tenant_b_is_worthless_on_tenant_a(world, world_b):
    assert not (await agent_socket(world, token=world_b.token).connect())[0]
    assert not (await agent_socket(world, token=world_b.token, header=True).connect())[0]
    assert (await agent_socket(world_b).connect())[0]  # and fine at home


async def test_session_cookie_authenticates_on_its_tenant_only(world, world_b):
    client = Client(HTTP_HOST=world.host)

    def login():
        from django_tenants.utils import tenant_context

        with tenant_context(world.org):
            assert client.login(email=world.agent.email, password=OWNER_PASSWORD)

    await in_tenant(world.org, login)()
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    comm = communicator(world.host, path="/ws/agent/", cookie=cookie)
    assert (await comm.connect())[0]
    await comm.disconnect()
    assert not (await communicator(world_b.host, path="/ws/agent/", cookie=cookie).connect())[0]


async def test_foreign_origin_is_refused(world):
    assert not (await agent_socket(world, origin="https://evil.example.com").connect())[0]
    assert not (await agent_socket(world, origin=f"http://{world.host}.evil.com").connect())[0]


# --- the protocol ---------------------------------------------------------------------


async def test_send_acks_and_delivers_to_subscribers_and_the_visitor(world):
    agent = await connected(agent_socket(world))
    watcher = await connected(agent_socket(world))
    visitor = await connected(widget_socket(world))
    conv = world.conversation.pk
    await watcher.send_json_to({"type": "subscribe", "conversation": conv})
    await receive_until(watcher, "subscribed")

    frame = send_frame(conv, "Olá, tudo bem?")
    await agent.send_json_to(frame)
    ack = await receive_until(agent, "message.ack")
    assert ack == {"type": "message.ack", "client_id": frame["client_id"], "id": ack["id"], "seq": 1, "conversation": conv}
    for comm in (watcher, visitor):
        new = await receive_until(comm, "message.new")
        assert new["id"] == ack["id"] and new["seq"] == 1 and new["client_id"] == frame["client_id"]
        assert new["body"] == "Olá, tudo bem?" and new["conversation"] == conv
        assert new["sender"] == {"type": "agent", "id": world.agent.pk, "name": "Ana"}
        assert new["attachments"] == [] and new["created_at"]

    # The same client_id again (a retry after a lost ack): the same ack, nothing new.
    await agent.send_json_to({**frame, "body": "different"})
    assert await receive_until(agent, "message.ack") == ack
    assert await visitor.receive_nothing(timeout=0.3)
    assert await count_messages(world) == 1
    for comm in (agent, watcher, visitor):
        await comm.disconnect()


async def test_resume_after_a_dropped_socket_replays_from_the_database(world):
    conv = world.conversation.pk
    agent = await connected(agent_socket(world))
    for i in range(3):
        await agent.send_json_to(send_frame(conv, f"m{i}"))
        await receive_until(agent, "message.ack")
    # The watcher's socket drops; messages keep coming while it is away.
    watcher = await connected(agent_socket(world))
    await watcher.send_json_to({"type": "resume", "conversation": conv, "after_seq": 0})
    seqs = []
    while (frame := await watcher.receive_json_from()) and frame["type"] != "resume.done":
        if frame["type"] == "message.new":
            seqs.append(frame["seq"])
    assert seqs == [1, 2, 3] and frame == {"type": "resume.done", "conversation": conv, "more": False}
    await watcher.disconnect()
    for i in range(3, 6):
        await agent.send_json_to(send_frame(conv, f"m{i}"))
        await receive_until(agent, "message.ack")
    watcher = await connected(agent_socket(world))
    await watcher.send_json_to({"type": "resume", "conversation": conv, "after_seq": 3})
    replayed = []
    while (frame := await watcher.receive_json_from())["type"] != "resume.done":
        if frame["type"] == "message.new":
            replayed.append((frame["seq"], frame["body"]))
    assert replayed == [(4, "m3"), (5, "m4"), (6, "m5")]
    # and it is subscribed from now on. Like a client, skip what the replay already gave:
    # an event published before the socket joined can still reach it if this process's
    # layer reads it from Redis after the join (the pub/sub layer routes on receipt).
    await agent.send_json_to(send_frame(conv, "live"))
    while (frame := await receive_until(watcher, "message.new"))["seq"] <= 6:
        pass
    assert (frame["seq"], frame["body"]) == (7, "live")
    await agent.disconnect()
    await watcher.disconnect()


async def test_private_notes_reach_agents_only(world):
    conv = world.conversation.pk
    agent = await connected(agent_socket(world))
    colleague = await connected(agent_socket(world))
    visitor = await connected(widget_socket(world))
    await colleague.send_json_to({"type": "subscribe", "conversation": conv})
    await receive_until(colleague, "subscribed")
    await agent.send_json_to(send_frame(conv, "nota interna", private=True))
    assert (await receive_until(agent, "message.ack"))["seq"] == 1
    note = await receive_until(colleague, "message.new")
    assert note["private"] is True
    assert await visitor.receive_nothing(timeout=0.3)
    await visitor.send_json_to({"type": "resume", "conversation": conv, "after_seq": 0})
    assert await visitor.receive_json_from() == {"type": "resume.done", "conversation": conv, "more": False}
    for c in (agent, colleague, visitor):
        await c.disconnect()


async def test_typing_and_read_go_to_the_other_side(world):
    conv = world.conversation.pk
    agent = await connected(agent_socket(world))
    visitor = await connected(widget_socket(world))
    await agent.send_json_to({"type": "subscribe", "conversation": conv})
    await receive_until(agent, "subscribed")
    await agent.send_json_to({"type": "typing", "conversation": conv, "state": "on"})
    typing = await receive_until(visitor, "typing")
    assert typing == {"type": "typing", "conversation": conv, "state": "on", "sender": {"type": "agent", "id": world.agent.pk, "name": "Ana"}}
    assert await agent.receive_nothing(timeout=0.3)  # no echo to the typist

    await visitor.send_json_to(send_frame(conv, "oi"))
    ack = await receive_until(visitor, "message.ack")
    await agent.send_json_to({"type": "read", "conversation": conv, "seq": ack["seq"]})
    read = await receive_until(visitor, "read")
    assert read["seq"] == ack["seq"] and read["sender"]["type"] == "agent"
    receipt = await in_tenant(world.org, lambda: ReadReceipt.objects.get(user=world.agent).last_read_seq)()
    assert receipt == ack["seq"]
    await agent.disconnect()
    await visitor.disconnect()


# --- bad frames -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"type": "nope"}', "bad_frame"),
        ('{"type": "message.send", "conversation": "1", "client_id": "UUID", "body": "x"}', "bad_frame"),
        ('{"type": "message.send", "conversation": CONV, "client_id": "nope", "body": "x"}', "bad_frame"),
        ('{"type": "message.send", "conversation": CONV, "client_id": "UUID", "body": ""}', "empty"),
        ('{"type": "message.send", "conversation": CONV, "client_id": "UUID", "body": 5}', "bad_frame"),
        ('{"type": "message.send", "conversation": CONV, "client_id": "UUID", "body": "x", "private": "yes"}', "bad_frame"),
        ('{"type": "resume", "conversation": CONV, "after_seq": -1}', "bad_frame"),
        ('{"type": "typing", "conversation": CONV, "state": "maybe"}', "bad_frame"),
        ('{"type": "presence", "state": "asleep"}', "bad_frame"),
    ],
)
async def test_bad_frames_get_an_error_store_nothing_and_keep_the_socket(world, frame, code):
    comm = await connected(agent_socket(world))
    await comm.send_to(text_data=frame.replace("CONV", str(world.conversation.pk)).replace("UUID", str(uuid.uuid4())))
    error = await receive_until(comm, "error")
    assert error["code"] == code and error["message"]
    assert await count_messages(world) == 0
    await comm.send_json_to(send_frame(world.conversation.pk))
    assert (await receive_until(comm, "message.ack"))["seq"] == 1
    await comm.disconnect()


async def test_oversized_body_and_binary_frames_are_refused(world):
    comm = await connected(agent_socket(world))
    frame = send_frame(world.conversation.pk, "x" * (services.MAX_BODY + 1))
    await comm.send_json_to(frame)
    error = await receive_until(comm, "error")
    assert error["code"] == "too_long" and error["ref"] == frame["client_id"]
    await comm.send_to(text_data=json.dumps(send_frame(world.conversation.pk, "x" * 40_000)))
    assert (await receive_until(comm, "error"))["code"] == "too_long"
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await receive_until(comm, "error"))["code"] == "bad_frame"
    assert await count_messages(world) == 0
    await comm.send_json_to({**send_frame(world.conversation.pk), "ref": "r1", "body": ""})
    assert (await receive_until(comm, "error"))["ref"] == "r1"
    await comm.disconnect()


# --- isolation ------------------------------------------------------------------------


async def test_another_tenants_conversation_is_not_found_for_every_frame(world, world_b):
    foreign = world_b.conversations[-1].pk
    exists_in_a = await in_tenant(world.org, lambda: Conversation.objects.filter(pk=foreign).exists())()
    assert not exists_in_a  # a real conversation of B, and no conversation of A
    comm = await connected(agent_socket(world))
    for frame in (
        {"type": "subscribe", "conversation": foreign},
        {"type": "resume", "conversation": foreign, "after_seq": 0},
        {"type": "typing", "conversation": foreign, "state": "on"},
        {"type": "read", "conversation": foreign, "seq": 1},
        send_frame(foreign),
    ):
        await comm.send_json_to(frame)
        error = await receive_until(comm, "error")
        assert (error["code"], error["message"]) == ("not_found", "Conversation not found.")
    # Nothing changed in B, and B's traffic does not reach A's socket.
    assert await count_messages(world_b) == 0
    b_agent = await connected(agent_socket(world_b))
    await b_agent.send_json_to(send_frame(foreign, "só para B"))
    await receive_until(b_agent, "message.ack")
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()
    await b_agent.disconnect()


async def test_an_agent_sees_only_conversations_in_their_scope(world):
    def make_agent():
        inbox_only = world.other_inbox
        user = UserFactory(email="restrito@alpha.example.com", role="agent")
        inbox_only.agents.add(user)  # works other_inbox only
        world.inbox.agents.add(world.agent)  # and inbox is now restricted to someone else
        from accounts.models import ApiToken

        return user, ApiToken.objects.issue(user=user, name="t")[1]

    user, token = await in_tenant(world.org, make_agent)()
    comm = await connected(agent_socket(world, token=token))
    await comm.send_json_to({"type": "subscribe", "conversation": world.conversation.pk})
    assert (await receive_until(comm, "error"))["code"] == "not_found"
    await comm.send_json_to(send_frame(world.conversation.pk))
    assert (await receive_until(comm, "error"))["code"] == "not_found"
    # An assignment in the inbox it cannot see is not announced to it ...
    conv = await in_tenant(world.org, lambda: Conversation.objects.get(pk=world.conversation.pk))()
    await in_tenant(world.org, lambda: services.conversation_assign(conversation=conv, agent=world.agent))()
    assert await comm.receive_nothing(timeout=0.4)
    # ... until the conversation is assigned to it.
    await in_tenant(world.org, lambda: services.conversation_assign(conversation=conv, agent=user))()
    updated = await receive_until(comm, "conversation.updated")
    assert updated["conversation"] == conv.pk and updated["assignee"]["id"] == user.pk
    await comm.disconnect()


# --- presence -------------------------------------------------------------------------


async def presence_of(comm, agent_id: int) -> dict:
    """The next presence frame about agent_id."""
    while (frame := await receive_until(comm, "presence"))["agent"] != agent_id:
        pass
    return frame


async def test_presence_is_announced_to_the_tenants_agents(world, world_b):
    def colleague():
        from accounts.models import ApiToken

        user = UserFactory(email="colega@alpha.example.com", role="agent")
        return user, ApiToken.objects.issue(user=user, name="t")[1]

    user, token = await in_tenant(world.org, colleague)()
    watcher = await connected(agent_socket(world))
    other_tenant = await connected(agent_socket(world_b))
    comm = await connected(agent_socket(world, token=token))
    # The watcher's own "online" can reach it too (published as it joined): skip it, as a
    # client would (a presence frame is about one agent; every one is true when it comes).
    assert await presence_of(watcher, user.pk) == {"type": "presence", "agent": user.pk, "state": "online"}
    await comm.send_json_to({"type": "presence", "state": "busy"})
    assert await presence_of(watcher, user.pk) == {"type": "presence", "agent": user.pk, "state": "busy"}
    assert await other_tenant.receive_nothing(timeout=0.3)
    await comm.disconnect()
    await asyncio.sleep(0.1)

    # Offline only after the grace period, settled by the task.
    from chat.services import presence

    assert (await in_tenant(world.org, lambda: presence.presence_states(user_ids=[user.pk]))())[user.pk] == "busy"
    grace = settings.ORBIT_CHAT_PRESENCE_GRACE
    settings.ORBIT_CHAT_PRESENCE_GRACE = 0
    try:
        assert await in_tenant(world.org, lambda: services.presence_settle(user_id=user.pk))() == "offline"
    finally:
        settings.ORBIT_CHAT_PRESENCE_GRACE = grace
    assert await presence_of(watcher, user.pk) == {"type": "presence", "agent": user.pk, "state": "offline"}
    await watcher.disconnect()
    await other_tenant.disconnect()


async def test_too_many_frames_are_rate_limited_and_the_socket_stays(world):
    comm = await connected(agent_socket(world))
    burst = settings.BILLING_WS_FRAME_BURST
    for _ in range(burst + 5):  # frames that cost no database call, so the bucket cannot refill meanwhile
        await comm.send_json_to({"type": "nope"})
    codes = [(await receive_until(comm, "error"))["code"] for _ in range(burst + 5)]
    assert codes[:burst] == ["bad_frame"] * burst
    assert "rate_limited" in codes[burst:]
    await asyncio.sleep(1)
    await comm.send_json_to(send_frame(world.conversation.pk))
    assert (await receive_until(comm, "message.ack"))["seq"] == 1
    await comm.disconnect()


async def test_a_transfer_away_stops_the_conversations_messages_reaching_the_old_agent(world):
    """Subscribed sockets are filtered by the conversation's scope as it is when each message
    is sent: once transferred out of an agent's reach, nothing more of it reaches them."""

    def make_agent():
        user = UserFactory(email="transferida@alpha.example.com", role="agent")
        world.other_inbox.agents.add(user)  # works other_inbox only
        world.inbox.agents.add(world.agent)  # world.inbox is restricted to someone else
        conv = Conversation.objects.get(pk=world.conversation.pk)
        services.conversation_assign(conversation=conv, agent=user)
        from accounts.models import ApiToken

        return user, ApiToken.objects.issue(user=user, name="t")[1], conv

    user, token, conv = await in_tenant(world.org, make_agent)()
    comm = await connected(agent_socket(world, token=token))
    visitor = await connected(widget_socket(world))
    await comm.send_json_to({"type": "subscribe", "conversation": conv.pk})
    await receive_until(comm, "subscribed")
    await visitor.send_json_to(send_frame(conv.pk, "antes"))
    assert (await receive_until(visitor, "message.ack"))["seq"] == 1
    assert (await receive_until(comm, "message.new"))["body"] == "antes"

    await in_tenant(world.org, lambda: services.conversation_assign(conversation=conv, agent=world.agent))()
    await visitor.send_json_to(send_frame(conv.pk, "depois"))
    assert (await receive_until(visitor, "message.ack"))["seq"] == 2
    assert await comm.receive_nothing(timeout=0.5)
    # Its own sends are refused too, and nothing is stored.
    await comm.send_json_to(send_frame(conv.pk, "ainda aqui?"))
    assert (await receive_until(comm, "error"))["code"] == "not_found"
    assert await count_messages(world) == 2
    for c in (comm, visitor):
        await c.disconnect()


async def test_a_quiet_conversation_waking_up_is_announced_to_agents_not_subscribed(world, world_b):
    """A visitor writing after WAKE_AFTER of quiet: conversation.activity on the agents group
    (filtered by scope), so a conversation beyond the loaded list pages comes to the top."""
    from datetime import timedelta

    from django.utils import timezone

    conv = world.conversation.pk
    hour_ago = timezone.now() - timedelta(hours=1)
    await in_tenant(world.org, lambda: Conversation.objects.filter(pk=conv).update(last_activity_at=hour_ago))()
    agent = await connected(agent_socket(world))  # admin, not subscribed to the conversation
    other = await connected(agent_socket(world_b))
    visitor = await connected(widget_socket(world))
    await visitor.send_json_to(send_frame(conv, "voltei"))
    activity = await receive_until(agent, "conversation.activity")
    assert activity["conversation"] == conv and activity["last_seq"] == 1 and activity["last_activity_at"]
    # a lively exchange does not repeat it; another tenant never hears of it
    await visitor.send_json_to(send_frame(conv, "ainda aqui"))
    assert (await receive_until(visitor, "message.ack"))["seq"] == 1
    assert (await receive_until(visitor, "message.ack"))["seq"] == 2
    assert await agent.receive_nothing(timeout=0.4)
    assert await other.receive_nothing(timeout=0.2)
    for c in (agent, other, visitor):
        await c.disconnect()


async def _closed_with(comm, code: int, timeout: float = 3) -> bool:
    while True:
        output = await comm.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output.get("code") == code


async def test_a_revoked_token_or_a_deactivated_agent_loses_its_open_socket(world, monkeypatch):
    from accounts.models import ApiToken
    from chat.services import presence

    monkeypatch.setattr(presence, "HEARTBEAT", 0.2)

    def make():
        user = UserFactory(email="bot-revogado@alpha.example.com", role="agent")
        return user, ApiToken.objects.issue(user=user, name="a")[1], ApiToken.objects.issue(user=user, name="b")[1]

    user, first, second = await in_tenant(world.org, make)()
    revoked = await connected(agent_socket(world, token=first))
    kept = await connected(agent_socket(world, token=second))
    admin = await connected(agent_socket(world))
    await in_tenant(world.org, lambda: ApiToken.objects.filter(user=user, name="a").delete())()
    assert await _closed_with(revoked, 4001)
    await asyncio.sleep(0.5)  # a few more beats: the other token's socket is still served
    await kept.send_json_to({"type": "subscribe", "conversation": world.conversation.pk})
    assert (await receive_until(kept, "subscribed"))["conversation"] == world.conversation.pk
    await in_tenant(world.org, lambda: type(user).objects.filter(pk=user.pk).update(is_active=False))()
    assert await _closed_with(kept, 4001)
    # someone else's socket is untouched
    await admin.send_json_to({"type": "subscribe", "conversation": world.conversation.pk})
    assert (await receive_until(admin, "subscribed"))["conversation"] == world.conversation.pk
    await admin.disconnect()
