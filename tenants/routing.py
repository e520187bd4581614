"""Host → organization, cached in Redis so a request costs no domain query on a hit.

The cache entry holds the organization itself; every service that changes what a
host resolves to (status, domains, deletion) invalidates the entries of its hosts."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches

from tenants.models import Domain, Organization

_MISSING = "-"
FOUND_TTL = 3600
MISSING_TTL = 30


def _cache():
    return caches["shared"]


def host_cache_key(host: str) -> str:
    return f"routing:host:{host.lower()}"


def is_platform_host(host: str) -> bool:
    return host.lower() in settings.ORBIT_PLATFORM_HOSTS


def tenant_host(slug: str) -> str:
    return f"{slug}.{settings.ORBIT_BASE_DOMAIN}"


def resolve_host(host: str) -> Organization | None:
    host = host.lower()
    key = host_cache_key(host)
    cached = _cache().get(key)
    if cached == _MISSING:
        return None
    if cached is not None:
        return cached
    domain = Domain.objects.select_related("tenant").filter(domain=host, is_verified=True).first()
    if domain is None:
        _cache().set(key, _MISSING, MISSING_TTL)
        return None
    _cache().set(key, domain.tenant, FOUND_TTL)
    return domain.tenant


def invalidate_hosts(hosts) -> None:
    keys = [host_cache_key(h) for h in hosts]
    if keys:
        _cache().delete_many(keys)


def invalidate_organization(organization: Organization) -> None:
    invalidate_hosts(Domain.objects.filter(tenant=organization).values_list("domain", flat=True))
