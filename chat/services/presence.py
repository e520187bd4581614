"""Agent presence: what the agent chose (online / busy / offline) and whether any socket is alive.

Kept in Redis, not PostgreSQL: it changes on every connect, heartbeat and disconnect
and must expire by itself when a server dies. Per agent, a sorted set of live
connections scored by their expiry (refreshed by the consumer's heartbeat), the chosen
state, and when the last connection went away. An agent without a live connection
stays what they chose for GRACE seconds (a page reload or a flaky network is not
"offline"), then is offline. Keys are built in chat.selectors.presence.key only, always
with the tenant; the reads live there too."""

from __future__ import annotations

import time

from celery import current_app
from django.db import transaction

from chat.realtime import events, groups
from chat.selectors import presence as read
from chat.selectors.presence import BUSY, CONNECTION_TTL, HEARTBEAT, OFFLINE, ONLINE, STATES, grace
from chat.services.assignment import assignment_queue_drain
from orbit.lib.tenancy import current_organization

# Celery's name of the task that settles an agent's state after the grace period (chat.tasks
# registers it under this name; enqueued by name: a message on the queue, not a call).
SETTLE_TASK = "chat.tasks.presence_settle"

__all__ = ["BUSY", "CONNECTION_TTL", "HEARTBEAT", "OFFLINE", "ONLINE", "SETTLE_TASK", "STATES", "grace",
           "presence_connect", "presence_disconnect", "presence_heartbeat", "presence_online_ids", "presence_set",
           "presence_settle", "presence_states"]


def _org(organization):
    return organization if organization is not None else current_organization()


def presence_states(*, organization=None, user_ids: list[int]) -> dict[int, str]:
    """chat.selectors.presence_states (here for callers that import it from services)."""
    return read.presence_states(organization=_org(organization), user_ids=user_ids)


def presence_online_ids(*, organization=None, user_ids: list[int]) -> set[int]:
    return read.presence_online_ids(organization=_org(organization), user_ids=user_ids)


def _state(org, user_id: int) -> str:
    return read.presence_states(organization=org, user_ids=[user_id])[user_id]


def _announce(org, user_id: int, before: str, after: str) -> None:
    if before == after:
        return
    events.publish([(groups.agents(org), events.presence(agent_id=user_id, state=after))])
    if after == ONLINE:
        # Capacity appeared: queued conversations may now be assigned.
        transaction.on_commit(lambda: assignment_queue_drain(organization=org))


def presence_connect(*, organization=None, user, connection_id: str) -> str:
    """A socket of the agent opened; returns their state now."""
    org = _org(organization)
    before = _state(org, user.pk)
    r = read.redis()
    r.zadd(read.key(org, "conns", user.pk), {connection_id: time.time() + CONNECTION_TTL})
    r.expire(read.key(org, "conns", user.pk), CONNECTION_TTL * 2)
    after = _state(org, user.pk)
    _announce(org, user.pk, before, after)
    return after


def presence_heartbeat(*, organization=None, user, connection_id: str) -> None:
    org = _org(organization)
    pipe = read.redis().pipeline(transaction=False)
    pipe.zadd(read.key(org, "conns", user.pk), {connection_id: time.time() + CONNECTION_TTL})
    pipe.zremrangebyscore(read.key(org, "conns", user.pk), "-inf", time.time())
    pipe.expire(read.key(org, "conns", user.pk), CONNECTION_TTL * 2)
    pipe.execute()


def presence_disconnect(*, organization=None, user, connection_id: str) -> None:
    """A socket closed. If it was the last, the agent goes offline after the grace period."""
    org = _org(organization)
    r = read.redis()
    r.zrem(read.key(org, "conns", user.pk), connection_id)
    if r.zcount(read.key(org, "conns", user.pk), time.time(), "+inf") == 0:
        r.hset(read.key(org, "seen"), user.pk, time.time())
        transaction.on_commit(
            lambda: current_app.send_task(SETTLE_TASK, kwargs={"user_id": user.pk}, countdown=grace() + 1)
        )


def presence_settle(*, organization=None, user_id: int) -> str:
    """After the grace period: announce offline if no socket came back (Celery calls this)."""
    org = _org(organization)
    state = _state(org, user_id)
    # Announce once: the "seen" mark is consumed by whoever settles first.
    if state == OFFLINE and read.redis().hdel(read.key(org, "seen"), user_id):
        events.publish([(groups.agents(org), events.presence(agent_id=user_id, state=OFFLINE))])
    return state


def presence_set(*, organization=None, user, state: str) -> str:
    """The agent chose a state (the presence toggle)."""
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}")
    org = _org(organization)
    before = _state(org, user.pk)
    read.redis().hset(read.key(org, "chosen"), user.pk, state)
    after = _state(org, user.pk)
    _announce(org, user.pk, before, after)
    return after
