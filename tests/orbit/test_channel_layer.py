"""orbit.lib.channel_layer on the real Redis: batched group sends, publishes that do not
wait on the subscription lock, and a receiver that wakes on the first subscription."""

from __future__ import annotations

import asyncio
import copy
import uuid

import pytest
from django.conf import settings

from orbit.lib import channel_layer as layer_module
from orbit.lib.channel_layer import OrbitPubSubChannelLayer


@pytest.fixture
async def layer():
    """A layer of its own (not the process's), with a prefix no other test uses."""
    config = copy.deepcopy(settings.CHANNEL_LAYERS["default"]["CONFIG"])
    config["prefix"] = f"{config['prefix']}.layer{uuid.uuid4().hex[:8]}"
    instance = OrbitPubSubChannelLayer(**config)
    yield instance
    await instance.flush()


async def member_of(layer, *groups: str) -> str:
    channel = await layer.new_channel()
    for group in groups:
        await layer.group_add(group, channel)
    return channel


async def test_group_send_many_reaches_each_groups_members_and_no_one_else(layer):
    agent = await member_of(layer, "t1.conv.7")
    visitor = await member_of(layer, "t1.visitor.3")
    both = await member_of(layer, "t1.conv.7", "t1.visitor.3")
    bystander = await member_of(layer, "t2.conv.7")  # the same conversation id in another tenant

    await layer.group_send_many([
        ("t1.conv.7", {"type": "chat.frame", "text": "to agents"}),
        ("t1.visitor.3", {"type": "chat.frame", "text": "to the visitor"}),
    ])

    assert (await asyncio.wait_for(layer.receive(agent), 5))["text"] == "to agents"
    assert (await asyncio.wait_for(layer.receive(visitor), 5))["text"] == "to the visitor"
    got = {(await asyncio.wait_for(layer.receive(both), 5))["text"] for _ in range(2)}
    assert got == {"to agents", "to the visitor"}
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(bystander), 0.3)


async def test_group_send_many_with_one_pair_and_to_a_group_nobody_is_in(layer):
    member = await member_of(layer, "t1.conv.8")
    await layer.group_send_many([("t1.conv.nobody", {"type": "chat.frame", "text": "lost in space"})])
    await layer.group_send_many([("t1.conv.8", {"type": "chat.frame", "text": "one"})])
    assert (await asyncio.wait_for(layer.receive(member), 5))["text"] == "one"


async def test_a_publish_does_not_wait_for_the_subscription_lock(layer):
    member = await member_of(layer, "t1.conv.9")
    (shard,) = layer._get_layer()._shards
    async with shard._lock:  # as if a subscribe were waiting on Redis
        await asyncio.wait_for(layer.group_send("t1.conv.9", {"type": "chat.frame", "text": "a"}), 5)
        await asyncio.wait_for(layer.group_send_many([("t1.conv.9", {"type": "chat.frame", "text": "b"})]), 5)
    assert [(await asyncio.wait_for(layer.receive(member), 5))["text"] for _ in range(2)] == ["a", "b"]


async def test_the_receiver_wakes_on_the_first_subscription_instead_of_polling(layer, monkeypatch):
    # With a poll as long as this, a receiver that sleeps while nothing is subscribed (as
    # channels-redis' does, for 0.1 s) would still be asleep when the test gives up.
    monkeypatch.setattr(layer_module, "RECEIVE_POLL_SECONDS", 30)
    member = await member_of(layer, "t1.conv.10")
    await layer.group_send("t1.conv.10", {"type": "chat.frame", "text": "first"})
    assert (await asyncio.wait_for(layer.receive(member), 5))["text"] == "first"


async def test_publishing_goes_on_after_the_publish_connection_drops(layer):
    member = await member_of(layer, "t1.conv.11")
    await layer.group_send("t1.conv.11", {"type": "chat.frame", "text": "before"})
    assert (await asyncio.wait_for(layer.receive(member), 5))["text"] == "before"

    (shard,) = layer._get_layer()._shards
    dropped = shard._publisher._connection
    await dropped.disconnect()  # as when Redis restarts or the network drops it
    await layer.group_send_many([("t1.conv.11", {"type": "chat.frame", "text": "after"})])
    assert (await asyncio.wait_for(layer.receive(member), 5))["text"] == "after"
    assert shard._publisher._connection is not dropped


async def test_a_refused_publish_is_logged_and_the_next_one_still_goes_out(layer, caplog):
    member = await member_of(layer, "t1.conv.12")
    (shard,) = layer._get_layer()._shards
    publisher = shard._publisher_ready()
    connection = await publisher._connect()
    # A command Redis refuses, on the publish connection: its error reply is read and logged.
    await connection.send_packed_command(connection.pack_command("NOSUCHCOMMAND"), check_health=False)
    await layer.group_send("t1.conv.12", {"type": "chat.frame", "text": "still here"})
    assert (await asyncio.wait_for(layer.receive(member), 5))["text"] == "still here"
    for _ in range(50):  # the reply reader runs on its own task
        if "PUBLISH refused by Redis" in caplog.text:
            break
        await asyncio.sleep(0.1)
    assert "PUBLISH refused by Redis" in caplog.text
    assert publisher._connection is connection


async def test_a_group_event_skips_the_channel_it_names_and_reaches_the_others(layer):
    sender = await member_of(layer, "t1.visitor.5")
    other_tab = await member_of(layer, "t1.visitor.5")
    await layer.group_send("t1.visitor.5", {"type": "chat.frame", "text": "mine", "skip": sender})
    await layer.group_send("t1.visitor.5", {"type": "chat.frame", "text": "for all"})
    assert (await asyncio.wait_for(layer.receive(other_tab), 5))["text"] == "mine"
    assert (await asyncio.wait_for(layer.receive(other_tab), 5))["text"] == "for all"
    # The sender's first event is the second one: its own was never queued.
    first = await asyncio.wait_for(layer.receive(sender), 5)
    assert first == {"type": "chat.frame", "text": "for all"}
    # Each member gets its own copy of an event.
    first["text"] = "changed by a handler"
    await layer.group_send("t1.visitor.5", {"type": "chat.frame", "text": "shared?"})
    a = await asyncio.wait_for(layer.receive(sender), 5)
    b = await asyncio.wait_for(layer.receive(other_tab), 5)
    assert a == b == {"type": "chat.frame", "text": "shared?"} and a is not b
