"""Agent presence: what the agent chose (online / busy / offline) and whether any socket is alive.

Kept in Redis, not PostgreSQL: it changes on every connect, heartbeat and disconnect
and must expire by itself when a server dies. Per agent, a sorted set of live
connections scored by their expiry (refreshed by the consumer's heartbeat), the chosen
state, and when the last connection went away. An agent without a live connection
stays what they chose for GRACE seconds (a page reload or a flaky network is not
"offline"), then is offline. Keys are built in `_key` only, always with the tenant."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction
from django_redis import get_redis_connection

from chat.realtime import events, groups
from chat.services import usage

ONLINE, BUSY, OFFLINE = "online", "busy", "offline"
STATES = (ONLINE, BUSY, OFFLINE)
HEARTBEAT = 30  # seconds between a socket's refreshes
CONNECTION_TTL = 3 * HEARTBEAT  # a socket not refreshed for this long is dead (its server is)


def grace() -> int:
    return int(getattr(settings, "ORBIT_CHAT_PRESENCE_GRACE", 30))


def _redis():
    return get_redis_connection("shared")


def _key(organization, part: str, user_id: int | None = None) -> str:
    base = f"chat:presence:t{organization.pk}:{part}"
    return base if user_id is None else f"{base}:{user_id}"


def _state_of(chosen: str | None, live: int, seen: float | None, now: float) -> str:
    chosen = chosen or ONLINE
    if chosen == OFFLINE:
        return OFFLINE
    if live:
        return chosen
    if seen is not None and now - seen < grace():
        return chosen
    return OFFLINE


def presence_states(*, user_ids: list[int]) -> dict[int, str]:
    """The effective state of each agent (one Redis round trip)."""
    if not user_ids:
        return {}
    org = usage.organization()
    now = time.time()
    pipe = _redis().pipeline(transaction=False)
    pipe.hmget(_key(org, "chosen"), user_ids)
    pipe.hmget(_key(org, "seen"), user_ids)
    for uid in user_ids:
        pipe.zcount(_key(org, "conns", uid), now, "+inf")
    chosen, seen, *live = pipe.execute()
    return {
        uid: _state_of(
            c.decode() if c else None,
            n,
            float(s) if s else None,
            now,
        )
        for uid, c, s, n in zip(user_ids, chosen, seen, live, strict=True)
    }


def presence_online_ids(*, user_ids: list[int]) -> set[int]:
    return {uid for uid, state in presence_states(user_ids=user_ids).items() if state == ONLINE}


def _announce(user_id: int, before: str, after: str) -> None:
    if before == after:
        return
    org = usage.organization()
    events.publish([(groups.agents(org), events.presence(agent_id=user_id, state=after))])
    if after == ONLINE:
        # Capacity appeared: queued conversations may now be assigned.
        from chat.services.assignment import assignment_queue_drain

        transaction.on_commit(assignment_queue_drain)


def presence_connect(*, user, connection_id: str) -> str:
    """A socket of the agent opened; returns their state now."""
    org = usage.organization()
    before = presence_states(user_ids=[user.pk])[user.pk]
    _redis().zadd(_key(org, "conns", user.pk), {connection_id: time.time() + CONNECTION_TTL})
    _redis().expire(_key(org, "conns", user.pk), CONNECTION_TTL * 2)
    after = presence_states(user_ids=[user.pk])[user.pk]
    _announce(user.pk, before, after)
    return after


def presence_heartbeat(*, user, connection_id: str) -> None:
    org = usage.organization()
    pipe = _redis().pipeline(transaction=False)
    pipe.zadd(_key(org, "conns", user.pk), {connection_id: time.time() + CONNECTION_TTL})
    pipe.zremrangebyscore(_key(org, "conns", user.pk), "-inf", time.time())
    pipe.expire(_key(org, "conns", user.pk), CONNECTION_TTL * 2)
    pipe.execute()


def presence_disconnect(*, user, connection_id: str) -> None:
    """A socket closed. If it was the last, the agent goes offline after the grace period."""
    org = usage.organization()
    r = _redis()
    r.zrem(_key(org, "conns", user.pk), connection_id)
    if r.zcount(_key(org, "conns", user.pk), time.time(), "+inf") == 0:
        r.hset(_key(org, "seen"), user.pk, time.time())
        from chat import tasks

        transaction.on_commit(
            lambda: tasks.presence_settle.apply_async(kwargs={"user_id": user.pk}, countdown=grace() + 1)
        )


def presence_settle(*, user_id: int) -> str:
    """After the grace period: announce offline if no socket came back (Celery calls this)."""
    state = presence_states(user_ids=[user_id])[user_id]
    if state == OFFLINE:
        org = usage.organization()
        r = _redis()
        # Announce once: the "seen" mark is consumed by whoever settles first.
        if r.hdel(_key(org, "seen"), user_id):
            events.publish([(groups.agents(org), events.presence(agent_id=user_id, state=OFFLINE))])
    return state


def presence_set(*, user, state: str) -> str:
    """The agent chose a state (the presence toggle)."""
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    org = usage.organization()
    before = presence_states(user_ids=[user.pk])[user.pk]
    _redis().hset(_key(org, "chosen"), user.pk, state)
    after = presence_states(user_ids=[user.pk])[user.pk]
    _announce(user.pk, before, after)
    return after
