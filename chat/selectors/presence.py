"""Agent presence, read from Redis: what each agent chose and whether any of their sockets
is alive (chat.services.presence writes it; its module docstring has the model)."""

from __future__ import annotations

import time

from django.conf import settings
from django_redis import get_redis_connection

ONLINE, BUSY, OFFLINE = "online", "busy", "offline"
STATES = (ONLINE, BUSY, OFFLINE)
HEARTBEAT = 30  # seconds between a socket's refreshes
CONNECTION_TTL = 3 * HEARTBEAT  # a socket not refreshed for this long is dead (its server is)


def grace() -> int:
    return int(getattr(settings, "ORBIT_CHAT_PRESENCE_GRACE", 30))


def redis():
    return get_redis_connection("shared")


def key(organization, part: str, user_id: int | None = None) -> str:
    """Every presence key, always with the tenant."""
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


def presence_states(*, organization, user_ids: list[int]) -> dict[int, str]:
    """The effective state of each agent (one Redis round trip)."""
    if not user_ids:
        return {}
    now = time.time()
    pipe = redis().pipeline(transaction=False)
    pipe.hmget(key(organization, "chosen"), user_ids)
    pipe.hmget(key(organization, "seen"), user_ids)
    for uid in user_ids:
        pipe.zcount(key(organization, "conns", uid), now, "+inf")
    chosen, seen, *live = pipe.execute()
    return {
        uid: _state_of(c.decode() if c else None, n, float(s) if s else None, now)
        for uid, c, s, n in zip(user_ids, chosen, seen, live, strict=True)
    }


def presence_online_ids(*, organization, user_ids: list[int]) -> set[int]:
    return {uid for uid, state in presence_states(organization=organization, user_ids=user_ids).items()
            if state == ONLINE}
