"""The channel layer: channels-redis' pub/sub layer with three changes for the chat hot path.

* Publishes are written, not waited on. channels-redis 4.3 sends each PUBLISH as its own
  command under a per-shard lock (meant for subscribe/unsubscribe, which change the
  connection's state) and waits for Redis' reply, so a process's publishes went out one
  round trip at a time, behind any (un)subscribe, and redis-py's command machinery was a
  fifth of the chat hot path's CPU. Here each shard has one connection for PUBLISH only:
  commands are written to it in order and a reader task consumes the replies (the number
  of receivers, which nobody needs; errors are logged). Delivery never depended on that
  reply: PostgreSQL is the record and clients resume on a seq gap (DESIGN.md).
* `group_send_many`: one message's events to several groups (the conversation's agents, the
  visitor) in one write.
* A group event is decoded once per process on arrival, not once per member socket, and
  the member it names in `skip` (the sender's own socket, which gets an ack instead;
  chat.realtime.events) never gets it: before, every message's copy for the sender's
  own group went through a queue, Channels' dispatch and a handler only to be dropped.
* A receiver with nothing subscribed waits for the next subscription instead of polling
  every 100 ms. The stock one sleeps 0.1 s whenever its connection has no subscription —
  always on its first turn, since it starts before the first SUBSCRIBE returns — so the
  first events after a process's first socket joins (or after its last one left) sat
  unread for up to 100 ms, and were then handed to whoever was in the group by then.

Everything else (serialization, group names, sharding, per-loop layers) is channels-redis'."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterable

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, decode_hosts
from redis.exceptions import ResponseError

logger = logging.getLogger("channels_redis.pubsub")

RECEIVE_POLL_SECONDS = 0.1  # how long one read waits before the receiver looks at its state again
SKIP_KEY = "skip"  # a group event's field naming the one member channel it is not for


class _Publisher:
    """One Redis connection that only PUBLISHes: written in order, replies read by a task."""

    def __init__(self, pool):
        self._pool = pool
        self._connection = None
        self._replies: asyncio.Task | None = None
        self._connect_lock = asyncio.Lock()

    async def publish(self, items: list[tuple[str, bytes]]) -> None:
        connection = self._connection
        if connection is None or not connection.is_connected:  # never let redis-py reconnect it under the reader
            if connection is not None:
                self._forget(connection)
            connection = await self._connect()
        try:
            await connection.send_packed_command(
                connection.pack_commands([("PUBLISH", channel, message) for channel, message in items]), check_health=False
            )
        except BaseException:
            self._forget(connection)
            raise

    async def _connect(self):
        async with self._connect_lock:
            if self._connection is None:
                connection = self._pool.make_connection()
                await connection.connect()
                self._connection = connection
                self._replies = asyncio.ensure_future(self._read_replies(connection))
            return self._connection

    async def _read_replies(self, connection) -> None:
        while True:
            try:
                await connection.read_response(timeout=math.inf, disconnect_on_error=False)
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:  # one PUBLISH refused; the connection is fine
                logger.warning("PUBLISH refused by Redis: %s", exc)
            except Exception:  # noqa: BLE001 — the connection is gone: the next publish reconnects
                logger.warning("publish connection lost", exc_info=True)
                self._forget(connection)
                return

    def _forget(self, connection) -> None:
        if self._connection is connection:
            self._connection = None
            if self._replies is not None and self._replies is not asyncio.current_task():
                self._replies.cancel()
            self._replies = None
            asyncio.ensure_future(connection.disconnect(nowait=True))

    async def close(self) -> None:
        connection, replies = self._connection, self._replies
        self._connection = self._replies = None
        if replies is not None:
            replies.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await replies
        if connection is not None:
            await connection.disconnect()


class _Shard(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._subscribed_event = asyncio.Event()
        self._publisher: _Publisher | None = None

    def _publisher_ready(self) -> _Publisher:
        self._ensure_redis()
        if self._publisher is None:
            self._publisher = _Publisher(self._redis.connection_pool)
        return self._publisher

    async def publish(self, channel, message):
        await self._publisher_ready().publish([(channel, message)])

    async def publish_many(self, items: list[tuple[str, bytes]]) -> None:
        await self._publisher_ready().publish(items)

    def _receive_message(self, message):
        if message is None:
            return
        name, data = message["channel"], message["data"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        queue = layer.channels.get(name)
        if queue is not None:  # a message to one channel: decoded by its receive()
            queue.put_nowait(data)
            return
        members = layer.groups.get(name)
        if not members:
            return
        event = layer.channel_layer.deserialize(data)
        skip = event.get(SKIP_KEY)
        for channel in members:
            if channel != skip and (queue := layer.channels.get(channel)) is not None:
                queue.put_nowait(dict(event))  # a copy each: a handler may change its event

    async def flush(self):
        if self._publisher is not None:
            await self._publisher.close()
            self._publisher = None
        await super().flush()

    async def subscribe(self, channel):
        await super().subscribe(channel)
        self._subscribed_event.set()

    async def _do_receiving(self):
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=RECEIVE_POLL_SECONDS)
                    self._receive_message(message)
                else:
                    # No await between the check above and clear(): a subscribe that
                    # completes from here on sets the event and wakes this wait.
                    self._subscribed_event.clear()
                    try:
                        await asyncio.wait_for(self._subscribed_event.wait(), RECEIVE_POLL_SECONDS * 10)
                    except TimeoutError:
                        pass
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except BaseException:
                # As channels-redis does: log, back off, go on (a Redis restart heals).
                logger.exception("Unexpected exception in receive task")
                await asyncio.sleep(1)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts=None, **kwargs):
        super().__init__(hosts=hosts, **kwargs)
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]

    async def group_send_many(self, sends: Iterable[tuple[str, dict]]) -> None:
        by_shard: dict[_Shard, list[tuple[str, bytes]]] = defaultdict(list)
        for group, message in sends:
            name = self._get_group_channel_name(group)
            by_shard[self._get_shard(name)].append((name, self.channel_layer.serialize(message)))
        for shard, items in by_shard.items():
            await shard.publish_many(items)


class OrbitPubSubChannelLayer(RedisPubSubChannelLayer):
    """settings.CHANNEL_LAYERS["default"]: the pub/sub layer, see the module's docstring."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
            return layer

    def deserialize(self, message):
        # Group events are queued already decoded (_Shard._receive_message).
        return message if isinstance(message, dict) else super().deserialize(message)

    async def group_send_many(self, sends: Iterable[tuple[str, dict]]) -> None:
        """group_send for several (group, message) pairs: one write per Redis host."""
        await self._get_layer().group_send_many(list(sends))
