"""Host → organization, cached in Redis so a request costs no domain query on a hit.

The cache entry holds the organization itself; every service that changes what a
host resolves to (status, domains, deletion) invalidates the entries of its hosts.

Wildcards: a partner (or holding) with a verified `*.chat.partner.com.br` serves each
of its clients at `<client slug>.chat.partner.com.br` (one label, as in TLS). An exact
domain always wins; a label that is not one of the partner's clients is unknown. The
concrete host is what gets cached, so invalidation names the concrete hosts too
(`organization_hosts`)."""

from __future__ import annotations

from django.conf import settings

from orbit.lib.shared_cache import shared_cache
from tenants.models import Domain, Organization

_MISSING = "-"
FOUND_TTL = 3600
MISSING_TTL = 30


def _cache():
    return shared_cache()


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
    organization = _lookup(host)
    if organization is None:
        _cache().set(key, _MISSING, MISSING_TTL)
        return None
    _cache().set(key, organization, FOUND_TTL)
    return organization


def _lookup(host: str) -> Organization | None:
    domain = Domain.objects.select_related("tenant").filter(domain=host, is_verified=True).first()
    if domain is not None:
        return domain.tenant
    label, _sep, parent_host = host.partition(".")
    if not label or "." not in parent_host:
        return None
    wildcard = Domain.objects.filter(domain=f"*.{parent_host}", is_verified=True).values_list("tenant_id", flat=True)
    return Organization.objects.filter(parent_id__in=wildcard[:1], slug=label).first()


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


def invalidate_hosts(hosts) -> None:
    keys = [host_cache_key(h) for h in hosts]
    if keys:
        _cache().delete_many(keys)


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
