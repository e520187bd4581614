"""Host → organization: THE tenant resolver. The HTTP middleware, the ASGI rate-limit edge and
the websocket tenant middleware call `resolve_host` (on the event loop `resolve_host_async`,
whose memory half `resolve_host_in_memory` does no I/O); nothing else looks a host up.

Three tiers, nearest first: this process's memory (a hit costs no I/O; a copy per hit, so a
request that changes its `request.tenant` never changes another's), the shared cache (Redis,
`routing:host:<host>`: what a new process fills its memory from), the database (`Domain`,
then a partner's wildcard).

Every service that changes what a host resolves to (status, plan, domains, deletion) calls an
`invalidate_*` below on commit: the hosts leave this process's memory and the shared cache,
and the shared routing version (`routing:version`, a random token) changes. Each process
compares it with the one its memory was filled under at most every
`settings.ORBIT_ROUTING_POLL_SECONDS` (1 s; 0 = every lookup, as the tests run) and drops its
memory when it moved. A flushed cache loses the key: a new token drops every memory.

Shared cache unreachable: routing degrades instead of failing. A warning is logged, lookups go
to the database (the cache is tried again after `SHARED_RETRY` s), memory entries live only
`DEGRADED_TTL` s (no invalidation can reach this process), and invalidations that could not
reach the cache are sent by the first lookup that finds it back.

Wildcards: a partner (or holding) with a verified `*.chat.partner.com.br` serves each client at
`<client slug>.chat.partner.com.br` (one label, as in TLS). An exact domain always wins; a label
that is not one of the partner's clients is unknown. The concrete host is what gets cached, so
invalidation names the concrete hosts too (`organization_hosts`)."""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

from orbit.lib.shared_cache import shared_cache
from tenants.models import Domain, Organization

log = logging.getLogger(__name__)

_MISSING = "-"
FOUND_TTL = 3600  # shared cache, a known host
MISSING_TTL = 30  # shared cache and memory, an unknown host
LOCAL_TTL = 300  # memory, a known host, while the routing version is being checked
DEGRADED_TTL = 5  # memory, while the shared cache is unreachable
SHARED_RETRY = 2.0  # after a shared-cache failure: seconds before it is tried again
WARN_EVERY = 30.0  # at most one warning per this many seconds during an outage
VERSION_KEY = "routing:version"
MISS = object()  # resolve_host_in_memory: not in memory (or memory must be checked first)


def _cache():
    return shared_cache()


def host_cache_key(host: str) -> str:
    return f"routing:host:{host.lower()}"


def is_platform_host(host: str) -> bool:
    return host.lower() in settings.ORBIT_PLATFORM_HOSTS


def tenant_host(slug: str) -> str:
    return f"{slug}.{settings.ORBIT_BASE_DOMAIN}"


def _poll_seconds() -> float:
    return float(getattr(settings, "ORBIT_ROUTING_POLL_SECONDS", 0 if getattr(settings, "TESTING", False) else 1.0))


class _Memory:
    """This process's routing memory and what it knows of the shared cache."""

    def __init__(self):
        self.entries: dict[str, tuple[float, Organization | None]] = {}  # host → (expires, organization|None)
        self.version: str | None = None  # the shared version the entries were filled under
        self.checked = float("-inf")  # when the version was last compared (monotonic)
        self.down_until = float("-inf")  # the shared cache is not tried before this (monotonic)
        self.warned = float("-inf")
        self.unsent: set[str] = set()  # hosts whose invalidation did not reach the shared cache
        self.lock = threading.Lock()



_memory = _Memory()


def forget_memory() -> None:
    """Drop this process's routing memory (tests; a process that knows better)."""
    _memory.entries.clear()
    _memory.checked = _memory.down_until = float("-inf")
    _memory.version = None


# --- the shared cache, guarded ----------------------------------------------------------


def _shared_down(exc: Exception) -> None:
    now = time.monotonic()
    _memory.down_until = now + SHARED_RETRY
    if now - _memory.warned >= WARN_EVERY:
        _memory.warned = now
        log.warning("shared cache unreachable (%s): host routing reads the database, memory entries live %ss",
                    exc, DEGRADED_TTL)


def _shared_up() -> bool:
    return time.monotonic() >= _memory.down_until


def degraded() -> bool:
    """Is routing running without the shared cache right now?"""
    return not _shared_up()


def _version_now(cache) -> str:
    version = cache.get(VERSION_KEY)
    if version is None:  # never set, or the cache was flushed: a new one drops every memory
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    return version


def _check_version(now: float) -> None:
    """Compare the shared routing version (at most every poll); drop memory when it moved."""
    if now - _memory.checked < _poll_seconds() or not _shared_up():
        return
    try:
        cache = _cache()
        if _memory.unsent:
            _send_invalidations(cache)
        version = _version_now(cache)
    except Exception as exc:  # noqa: BLE001 — Redis down or unreachable: degrade, never fail a request
        _shared_down(exc)
        return
    if version != _memory.version:
        _memory.entries.clear()
        _memory.version = version
    _memory.checked = now


# --- resolving --------------------------------------------------------------------------


def _answer(organization: Organization | None) -> Organization | None:
    return copy.copy(organization) if organization is not None else None  # each request its own


def resolve_host_in_memory(host: str):
    """The organization (or None for an unknown host) when this process's memory answers
    without any I/O, else MISS: for the event loop, which then calls resolve_host in a thread."""
    now = time.monotonic()
    if now - _memory.checked >= _poll_seconds() and _shared_up():
        return MISS  # the version is due for a check: a round trip
    entry = _memory.entries.get(host.lower())
    if entry is None or entry[0] <= now:
        return MISS
    return _answer(entry[1])


async def resolve_host_async(host: str) -> Organization | None:
    """resolve_host from the event loop (the ASGI edge, the websocket tenant middleware): from
    this process's memory when it answers (no I/O, no thread hop), else on Django's own sync
    thread, where the request would have resolved it."""
    organization = resolve_host_in_memory(host)
    if organization is MISS:
        organization = await sync_to_async(resolve_host, thread_sensitive=True)(host)
    return organization


def resolve_host(host: str) -> Organization | None:
    """The organization a host serves, or None for an unknown host. Sync (memory, the shared
    cache, the database on a miss); never raises for a shared-cache outage."""
    host = host.lower()
    now = time.monotonic()
    _check_version(now)
    entry = _memory.entries.get(host)
    if entry is not None and entry[0] > now:
        return _answer(entry[1])
    organization = _from_shared_or_database(host)
    ttl = DEGRADED_TTL if degraded() else LOCAL_TTL if organization is not None else MISSING_TTL
    _memory.entries[host] = (time.monotonic() + ttl, organization)
    if len(_memory.entries) > 50_000:
        _memory.entries.clear()
    return _answer(organization)


def _from_shared_or_database(host: str) -> Organization | None:
    key = host_cache_key(host)
    if _shared_up():
        try:
            cached = _cache().get(key)
        except Exception as exc:  # noqa: BLE001
            _shared_down(exc)
        else:
            if cached == _MISSING:
                return None
            if cached is not None:
                return cached
    organization = _lookup(host)
    if _shared_up():
        try:
            _cache().set(key, _MISSING if organization is None else organization,
                               MISSING_TTL if organization is None else FOUND_TTL)
        except Exception as exc:  # noqa: BLE001
            _shared_down(exc)
    return organization


def _lookup(host: str) -> Organization | None:
    public = get_public_schema_name()
    with schema_context(public) if connection.schema_name != public else contextlib.nullcontext():
        domain = Domain.objects.select_related("tenant").filter(domain=host, is_verified=True).first()
        if domain is not None:
            return domain.tenant
        label, _sep, parent_host = host.partition(".")
        if not label or "." not in parent_host:
            return None
        wildcard = Domain.objects.filter(domain=f"*.{parent_host}", is_verified=True).values_list("tenant_id", flat=True)
        return Organization.objects.filter(parent_id__in=wildcard[:1], slug=label).first()


# --- invalidation -----------------------------------------------------------------------


def wildcard_hosts(*, parent: Organization | None, slugs) -> list[str]:
    """The concrete hosts the parent's verified wildcards give to the children `slugs`."""
    if parent is None:
        return []
    suffixes = [
        d[2:] for d in Domain.objects.filter(tenant=parent, is_verified=True, domain__startswith="*.").values_list(
            "domain", flat=True
        )
    ]
    return [f"{slug}.{suffix}" for suffix in suffixes for slug in slugs]


def organization_hosts(organization: Organization) -> list[str]:
    """Every host that may resolve to the organization: its domains and the hosts its
    parent's wildcards give it."""
    hosts = list(Domain.objects.filter(tenant=organization).values_list("domain", flat=True))
    parent = Organization.objects.filter(pk=organization.parent_id).first() if organization.parent_id else None
    return hosts + wildcard_hosts(parent=parent, slugs=[organization.slug])


def _send_invalidations(cache) -> None:
    """Delete the unsent hosts' shared entries and move the version (raises if Redis is down)."""
    with _memory.lock:
        hosts = sorted(_memory.unsent)
    if hosts:
        cache.delete_many([host_cache_key(h) for h in hosts])
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    with _memory.lock:
        _memory.unsent.difference_update(hosts)


def invalidate_hosts(hosts) -> None:
    """These hosts may resolve differently now: out of this process's memory at once, out of
    the shared cache and (through the version) every other process's memory. A shared-cache
    outage is logged and the shared part retried later; it never fails the caller."""
    hosts = [h.lower() for h in hosts]
    if not hosts:
        return
    for host in hosts:
        _memory.entries.pop(host, None)
    with _memory.lock:
        _memory.unsent.update(hosts)
    _memory.checked = float("-inf")  # the next lookup compares the version
    try:
        _send_invalidations(_cache())
    except Exception as exc:  # noqa: BLE001
        _shared_down(exc)


def invalidate_organization(organization: Organization) -> None:
    invalidate_hosts(organization_hosts(organization))


def invalidate_organization_id(organization_id: int) -> None:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is not None:
        invalidate_organization(organization)


def invalidate_domain(domain: Domain) -> None:
    """A domain was verified, changed or removed: its host, or for a wildcard every
    client host it covers."""
    if domain.is_wildcard:
        suffix = domain.bare_host
        slugs = Organization.objects.filter(parent_id=domain.tenant_id).values_list("slug", flat=True)
        invalidate_hosts([f"{slug}.{suffix}" for slug in slugs])
    else:
        invalidate_hosts([domain.domain])
