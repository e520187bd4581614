"""The effective-brand cache: the one place its keys are built, each carrying the tenant.

Entries live in the shared cache (not the schema-prefixed default one) because they are
read and invalidated from other tenants' requests: a partner saving its brand drops the
entries of all its descendants."""

from __future__ import annotations

import logging
import time

from django_tenants.utils import get_tenant_model

from orbit.lib.shared_cache import shared_cache

log = logging.getLogger(__name__)
_warned = [float("-inf")]

BRAND_TTL = 3600
PLATFORM = "platform"


def _cache():
    return shared_cache()


def brand_cache_key(organization_id: int | None) -> str:
    return f"branding:effective:{organization_id if organization_id is not None else PLATFORM}"


def _unreachable(exc: Exception) -> None:
    """The shared cache is down: brands are read from the database (pages answer, slower)."""
    if time.monotonic() - _warned[0] >= 30:
        _warned[0] = time.monotonic()
        log.warning("shared cache unreachable (%s): brands are read from the database", exc)


def cached_brand(organization_id: int | None):
    try:
        return _cache().get(brand_cache_key(organization_id))
    except Exception as exc:  # noqa: BLE001 — a Redis outage must not take pages down
        _unreachable(exc)
        return None


def cache_brand(organization_id: int | None, brand) -> None:
    try:
        _cache().set(brand_cache_key(organization_id), brand, BRAND_TTL)
    except Exception as exc:  # noqa: BLE001
        _unreachable(exc)


def descendant_ids(organization_id: int) -> list[int]:
    """The organization and every organization below it in the tree (public rows only)."""
    Organization = get_tenant_model()
    found, frontier = [organization_id], [organization_id]
    while frontier:
        frontier = list(Organization.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier = [pk for pk in frontier if pk not in found]
        found.extend(frontier)
    return found


def invalidate_brands(organization_id: int | None) -> None:
    """Drop the cached brand of an organization and of everything that inherits from it;
    None (the platform default) drops every entry."""
    if organization_id is None:
        ids = list(get_tenant_model().objects.values_list("pk", flat=True))
        keys = [brand_cache_key(None)] + [brand_cache_key(pk) for pk in ids]
    else:
        keys = [brand_cache_key(pk) for pk in descendant_ids(organization_id)]
    _cache().delete_many(keys)
