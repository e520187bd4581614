"""Every cache key billing uses, built here and only here.

All of them live on the "shared" cache alias (no django-tenants prefix) and therefore
carry the tenant themselves: the organization id (usage counters, limits, alerts) or
the schema name (rate-limit values, hashed by django-ratelimit with its group)."""

from __future__ import annotations

import datetime as dt

from django.core.cache import caches

ALIAS = "shared"


def cache():
    return caches[ALIAS]


def usage_counter(*, organization_id: int, metric: str, period: dt.date, scope: str = "own") -> str:
    """Cached usage of one organization ("own") or of its whole tree ("tree") in a period."""
    return f"billing:usage:{scope}:o{organization_id}:{metric}:{period:%Y-%m}"


def limits(*, organization_id: int) -> str:
    """The organization's effective limits (plan + overrides) and its ancestors' ids."""
    return f"billing:limits:o{organization_id}"


def alert_raised(*, organization_id: int, metric: str, period: dt.date, level: str) -> str:
    return f"billing:alert:o{organization_id}:{metric}:{period:%Y-%m}:{level}"


def ratelimit_value(*, schema: str, scope: str, ident: str = "") -> str:
    """The value django-ratelimit hashes (with its group, rate and window) into its key."""
    return f"{schema}|{scope}|{ident}"
