"""The channel layer: channels-redis' pub/sub layer with three changes for the chat hot path.

* Publishes do not queue behind one lock. channels-redis 4.3 takes a per-shard lock for
  every PUBLISH (meant for subscribe/unsubscribe, which change the connection's state), so
  a process's publishes go out one round trip at a time, behind any (un)subscribe. A
  PUBLISH uses a pooled connection and touches no shared state: it needs no lock.
* `group_send_many`: one message's events to several groups (the conversation's agents, the
  visitor) in one pipelined round trip per Redis host instead of one round trip each.
* A receiver with nothing subscribed waits for the next subscription instead of polling
  every 100 ms. The stock one sleeps 0.1 s whenever its connection has no subscription —
  always on its first turn, since it starts before the first SUBSCRIBE returns — so the
  first events after a process's first socket joins (or after its last one left) sat
  unread for up to 100 ms, and were then handed to whoever was in the group by then.

Everything else (serialization, group names, sharding, per-loop layers) is channels-redis'."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close, decode_hosts

logger = logging.getLogger("channels_redis.pubsub")

RECEIVE_POLL_SECONDS = 0.1  # how long one read waits before the receiver looks at its state again


class _Shard(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._subscribed_event = asyncio.Event()

    async def publish(self, channel, message):
        self._ensure_redis()
        await self._redis.publish(channel, message)

    async def publish_many(self, items: list[tuple[str, bytes]]) -> None:
        self._ensure_redis()
        if len(items) == 1:
            return await self._redis.publish(*items[0])
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, message in items:
                pipe.publish(channel, message)
            await pipe.execute()

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

    async def group_send_many(self, sends: Iterable[tuple[str, dict]]) -> None:
        """group_send for several (group, message) pairs: one round trip per Redis host."""
        await self._get_layer().group_send_many(list(sends))
