"""Websocket frames PostgreSQL cannot store or the parser cannot take (issue 12, item 6):
a message body with NUL or a lone surrogate, and JSON nested thousands deep, get an `error`
frame and store nothing; the socket stays open and keeps working."""

from __future__ import annotations

import json

import pytest

from chat.models import Message
from tests.chat.realtime.helpers import agent_socket, connected, in_tenant, send_frame, widget_socket
from tests.ws import communicator, ping, primary_host, receive_until

DEEP = "[" * 50_000 + "]" * 50_000
CLIENT_ID = "6f1c2a52-8a3e-4c84-9d1b-2f0f1b8e9a10"


def _raw(conversation, body_json: str) -> str:
    """A message.send frame whose body is given as JSON text (so escapes reach the server as sent)."""
    head = {"type": "message.send", "conversation": conversation, "client_id": CLIENT_ID}
    return json.dumps(head)[:-1] + f', "body": {body_json}}}'


def _messages(world):
    return in_tenant(world.org, lambda: list(Message.objects.values_list("body", flat=True)))()


@pytest.mark.parametrize("socket", ["widget", "agent"])
@pytest.mark.parametrize("body_json", ['"oi\\u0000"', '"oi\\ud800"', '"\\udc00 tchau"'])
async def test_message_bodies_with_unstorable_text_get_an_error_frame(world, socket, body_json):
    comm = await connected(widget_socket(world) if socket == "widget" else agent_socket(world))
    await comm.send_to(text_data=_raw(world.conversation.pk, body_json))
    error = await receive_until(comm, "error")
    assert error["code"] == "bad_frame" and error["ref"] == CLIENT_ID
    assert await _messages(world) == []
    # the socket stays and works
    await comm.send_json_to(send_frame(world.conversation.pk, "agora sim"))
    assert (await receive_until(comm, "message.ack"))["seq"] == 1
    await comm.disconnect()


async def test_a_first_widget_message_with_unstorable_text_opens_no_conversation(world):
    comm = await connected(widget_socket(world))
    await comm.send_to(text_data=_raw(None, '"\\u0000"'))
    assert (await receive_until(comm, "error"))["code"] == "bad_frame"
    assert await _messages(world) == []
    await comm.disconnect()


@pytest.mark.parametrize("socket", ["widget", "agent"])
async def test_deeply_nested_frames_get_an_error_frame(world, socket):
    comm = await connected(widget_socket(world) if socket == "widget" else agent_socket(world))
    await comm.send_to(text_data=DEEP)  # past the frame size
    assert (await receive_until(comm, "error"))["code"] == "too_long"
    await comm.send_to(text_data="[" * 5_000 + "]" * 5_000)  # under it, past the parser's depth
    assert (await receive_until(comm, "error"))["code"] == "bad_frame"
    await comm.send_to(text_data='{"type": "typing", "conversation": ' + "[" * 5_000 + "]" * 5_000 + "}")
    assert (await receive_until(comm, "error"))["code"] == "bad_frame"
    await comm.send_json_to(send_frame(world.conversation.pk, "ainda aqui"))
    assert (await receive_until(comm, "message.ack"))["seq"] == 1
    await comm.disconnect()


@pytest.fixture
def host(live_db, tenant) -> str:
    return primary_host(tenant)


async def test_the_ping_socket_answers_deep_frames_with_an_error(host):
    comm = communicator(host)
    assert (await comm.connect())[0]
    await comm.send_to(text_data=DEEP)
    frame = await comm.receive_json_from()
    assert frame["type"] == "error" and frame["code"] == "bad_frame"
    assert (await ping(comm))["type"] == "pong"
    await comm.disconnect()


async def test_an_unstorable_ref_is_not_echoed_into_an_unwritable_frame(world):
    comm = await connected(widget_socket(world))
    await comm.send_to(text_data='{"type": "nope", "client_id": "\\ud800"}')
    answer = await comm.receive_output(timeout=5)
    answer["text"].encode("utf-8")  # what the server writes on the wire: must not raise
    frame = json.loads(answer["text"])
    assert frame["type"] == "error" and frame["code"] == "bad_frame" and frame["ref"] is None
    await comm.disconnect()
