"""The shared Redis cache (settings.CACHES["shared"]): one backend per process.

Django keeps a cache backend per async context (`caches` is an asgiref Local), so every
websocket connection's first read (its host → tenant lookup) built a django-redis backend
and Redis client of its own (~10 KB) that lived as long as the socket: a quarter of an idle
socket's memory. django-redis' client is thread-safe (redis-py's connection pool, which
also resets itself in a forked child), so one backend serves every thread and context."""

from __future__ import annotations

import threading

from django.core.cache import caches

ALIAS = "shared"

_backend = None
_lock = threading.Lock()


def shared_cache():
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                _backend = caches.create_connection(ALIAS)
    return _backend
