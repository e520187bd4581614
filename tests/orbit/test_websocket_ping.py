"""Websocket plumbing on the real application: origin check → tenant → auth → `/ws/ping/`."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from tenants.services import organization_suspend
from tests.factories import OWNER_PASSWORD, UserFactory
from tests.ws import WebsocketCommunicator, communicator, ping, primary_host


@pytest.fixture
def hosts(live_db, tenant, other_tenant):
    return primary_host(tenant), primary_host(other_tenant)


@pytest.fixture
def agent(live_db, tenant):
    """An agent of tenant A (removed after the test, unlike the session's owners)."""
    with schema_context(tenant.schema_name):
        return UserFactory(email="ws-agent@alpha.example.com")


@pytest.fixture
def agent_cookie(tenant, agent) -> str:
    """A logged-in session of the agent, stored in tenant A's schema."""
    client = Client(HTTP_HOST=primary_host(tenant))
    with schema_context(tenant.schema_name):
        assert client.login(email=agent.email, password=OWNER_PASSWORD)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def test_ping_answers_the_hosts_tenant_and_schema(hosts, tenant, other_tenant):
    for host, org in zip(hosts, (tenant, other_tenant), strict=True):
        comm = communicator(host)
        connected, _ = await comm.connect()
        assert connected
        pong = await ping(comm)
        assert pong == {"type": "pong", "tenant": org.slug, "schema": org.schema_name, "user": None}
        await comm.disconnect()


async def test_host_with_port_and_matching_origin_is_accepted(hosts, tenant):
    host = f"{hosts[0]}:8443"
    comm = communicator(host, origin=f"https://{host}", scheme="wss")
    connected, _ = await comm.connect()
    assert connected
    assert (await ping(comm))["tenant"] == tenant.slug
    await comm.disconnect()


@pytest.mark.parametrize(
    ("scheme", "origin"),
    [
        ("ws", "https://{host}"),  # an https page may not open a plain socket …
        ("ws", "https://{host}:80"),  # … not even on the socket's own port
        ("wss", "http://{host}"),  # … nor an http page a TLS one
        ("wss", "http://{host}:443"),
        ("ws", "ws://{host}"),  # an Origin is a page's scheme, never a socket's
        ("ws", "ftp://{host}"),
    ],
)
async def test_origin_with_another_scheme_is_refused(hosts, scheme, origin):
    comm = communicator(hosts[0], origin=origin.format(host=hosts[0]), scheme=scheme)
    connected, code = await comm.connect()
    assert not connected and code == 4003


@pytest.mark.parametrize(("scheme", "origin"), [("ws", "http://{host}"), ("wss", "https://{host}"), ("wss", "https://{host}:443")])
async def test_origin_with_the_sockets_scheme_is_accepted(hosts, tenant, scheme, origin):
    comm = communicator(hosts[0], origin=origin.format(host=hosts[0]), scheme=scheme)
    connected, _ = await comm.connect()
    assert connected
    assert (await ping(comm))["tenant"] == tenant.slug
    await comm.disconnect()


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example.com",
        "http://{other}",  # another tenant's page
        "http://{host}:9999",  # same host, other port
        "null",
        "garbage",
    ],
)
async def test_foreign_origin_is_refused(hosts, origin):
    host, other = hosts
    comm = communicator(host, origin=origin.format(host=host, other=other))
    connected, _ = await comm.connect()
    assert not connected


async def test_missing_origin_is_allowed(hosts, tenant):
    comm = communicator(hosts[0], origin=None)
    connected, _ = await comm.connect()
    assert connected
    assert (await ping(comm))["tenant"] == tenant.slug
    await comm.disconnect()


async def test_unknown_host_is_refused(live_db):
    comm = communicator("nobody.localhost")
    connected, _ = await comm.connect()
    assert not connected


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "localhost:8000"])
async def test_platform_host_is_refused(live_db, host):
    comm = communicator(host)
    connected, _ = await comm.connect()
    assert not connected


async def test_suspended_tenant_is_refused_and_the_other_is_not(hosts, tenant):
    comm = communicator(hosts[0])
    assert (await comm.connect())[0]  # cached as active first
    await comm.disconnect()
    await database_sync_to_async(organization_suspend)(organization=tenant)
    comm = communicator(hosts[0])
    connected, _ = await comm.connect()
    assert not connected
    comm = communicator(hosts[1])
    assert (await comm.connect())[0]
    await comm.disconnect()


async def test_session_cookie_authenticates_on_its_tenant_only(hosts, agent, agent_cookie):
    comm = communicator(hosts[0], cookie=agent_cookie)
    assert (await comm.connect())[0]
    assert (await ping(comm))["user"] == agent.email
    await comm.disconnect()

    # The same cookie on tenant B's host: B's schema has no such session.
    comm = communicator(hosts[1], cookie=agent_cookie)
    assert (await comm.connect())[0]
    assert (await ping(comm))["user"] is None
    await comm.disconnect()


async def test_session_is_void_after_a_password_change(hosts, tenant, agent, agent_cookie):
    def change_password():
        with schema_context(tenant.schema_name):
            agent.set_password("outra-senha-forte-456")
            agent.save()

    await database_sync_to_async(change_password)()
    comm = communicator(hosts[0], cookie=agent_cookie)
    assert (await comm.connect())[0]
    assert (await ping(comm))["user"] is None
    await comm.disconnect()


async def test_garbage_cookie_is_anonymous(hosts):
    comm = communicator(hosts[0], cookie=f"{settings.SESSION_COOKIE_NAME}=nonsense; other=1")
    assert (await comm.connect())[0]
    assert (await ping(comm))["user"] is None
    await comm.disconnect()


async def test_bad_frames_get_an_error_and_the_socket_stays_open(hosts, tenant):
    comm = communicator(hosts[0])
    assert (await comm.connect())[0]
    for frame in ("not json", '{"type": "nope"}', "[1, 2]", '"ping"'):
        await comm.send_to(text_data=frame)
        error = await comm.receive_json_from(timeout=5)
        assert error["type"] == "error"
        assert error["code"] == "bad_frame"
        assert error["message"]
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await comm.receive_json_from(timeout=5))["code"] == "bad_frame"
    assert (await ping(comm))["tenant"] == tenant.slug
    await comm.disconnect()


async def test_database_thread_is_back_on_public_after_a_consumer_call(hosts, tenant):
    comm = communicator(hosts[0])
    assert (await comm.connect())[0]
    assert (await ping(comm))["schema"] == tenant.schema_name
    await comm.disconnect()

    def schema_now():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            return connection.schema_name, cursor.fetchone()[0]

    # database_sync_to_async is thread-sensitive: the same worker thread the consumer used.
    assert await database_sync_to_async(schema_now)() == ("public", "public")


# --- channel layer ---------------------------------------------------------------------


def test_channel_layer_is_pubsub_with_redis_py_8_safe_settings():
    layer = settings.CHANNEL_LAYERS["default"]
    assert layer["BACKEND"] == "orbit.lib.channel_layer.OrbitPubSubChannelLayer"
    (host,) = layer["CONFIG"]["hosts"]
    assert host["socket_timeout"] is None
    assert host["max_connections"] == 20000


class GroupRelayConsumer(AsyncJsonWebsocketConsumer):
    """Joins the group named in the URL and relays what the group receives."""

    async def connect(self):
        self.group = self.scope["url_route"]["kwargs"]["group"]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def relay(self, event):
        await self.send_json({"got": event["body"]})


async def test_group_send_reaches_a_subscribed_consumer_even_after_idling():
    from channels.routing import URLRouter
    from django.urls import path

    app = URLRouter([path("relay/<str:group>/", GroupRelayConsumer.as_asgi())])
    group = f"t0.test.{id(app)}"
    comm = WebsocketCommunicator(app, f"/relay/{group}/")
    assert (await comm.connect())[0]
    layer = get_channel_layer()
    await layer.group_send(group, {"type": "relay", "body": "hello"})
    assert await comm.receive_json_from(timeout=5) == {"got": "hello"}

    # The real pool: no socket timeout (redis-py 8 would drop an idle subscription
    # after 5 s) and room for one subscriber connection per consumer.
    pool = layer._get_layer()._shards[0]._redis.connection_pool
    assert pool.connection_kwargs["socket_timeout"] is None
    assert pool.max_connections == 20000

    await asyncio.sleep(6)  # idle past redis-py 8's default 5 s socket timeout
    await layer.group_send(group, {"type": "relay", "body": "still there"})
    assert await comm.receive_json_from(timeout=5) == {"got": "still there"}

    # Another group does not reach it.
    await layer.group_send(group + ".other", {"type": "relay", "body": "not for you"})
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()
    await layer.flush()
