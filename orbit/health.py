"""Readiness: can this process reach PostgreSQL and Redis right now?"""

import time

import redis
from django.conf import settings
from django.db import connection


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # a readiness probe reports, it does not raise
        return {"ok": False, "error": exc.__class__.__name__, "ms": round((time.perf_counter() - started) * 1000, 1)}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _postgres() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def readiness() -> dict:
    return {"postgres": _timed(_postgres), "redis": _timed(_redis)}
