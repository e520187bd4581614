"""orbit.lib.shared_cache: one backend for the whole process, whatever thread or async
context asks (Django's `caches` gives each context its own, which every websocket kept)."""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import sync_to_async
from django.core.cache import caches

from billing import cache_keys
from branding import cache as brand_cache
from orbit.lib.shared_cache import shared_cache
from tenants import routing


async def test_every_task_and_thread_gets_the_same_backend():
    async def in_a_task():
        return shared_cache(), await sync_to_async(shared_cache, thread_sensitive=False)()

    seen = [backend for pair in await asyncio.gather(*(in_a_task() for _ in range(5))) for backend in pair]
    other_thread = []
    thread = threading.Thread(target=lambda: other_thread.append(shared_cache()))
    thread.start()
    thread.join()
    assert len({id(backend) for backend in seen + other_thread}) == 1


def test_billing_routing_and_branding_use_it_and_it_is_the_shared_redis():
    assert cache_keys.cache() is shared_cache() and routing._cache() is shared_cache() and brand_cache._cache() is shared_cache()
    shared_cache().set("orbit-test:shared-cache", "um", 10)
    assert caches["shared"].get("orbit-test:shared-cache") == "um"  # same server, same keys
    shared_cache().delete("orbit-test:shared-cache")
