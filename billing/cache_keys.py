"""Every cache key billing uses, built here and only here.

All of them live on the "shared" cache alias (no django-tenants prefix) and therefore
carry the tenant themselves: the organization id (usage counters, limits, alerts) or
the schema name (rate-limit values, hashed by django-ratelimit with its group)."""

from __future__ import annotations

import datetime as dt

from orbit.lib.ratelimit.counter import counter_key, rule_value
from orbit.lib.shared_cache import shared_cache


def cache():
    return shared_cache()


def usage_counter(*, organization_id: int, metric: str, period: dt.date, scope: str = "own") -> str:
    """Cached usage of one organization ("own") or of its whole tree ("tree") in a period."""
    return f"billing:usage:{scope}:o{organization_id}:{metric}:{period:%Y-%m}"


def limits(*, organization_id: int) -> str:
    """The organization's effective limits (plan + overrides) and its ancestors' ids."""
    return f"billing:limits:o{organization_id}"


def limits_version(*, organization_id: int) -> str:
    """A token changed whenever the organization's limits change (plan, override, tree):
    a process's in-memory copy of the profile is used only while it matches."""
    return f"billing:limits-version:o{organization_id}"


def alert_raised(*, organization_id: int, metric: str, period: dt.date, level: str) -> str:
    return f"billing:alert:o{organization_id}:{metric}:{period:%Y-%m}:{level}"


def ratelimit_value(*, schema: str, scope: str, ident: str = "") -> str:
    """The value django-ratelimit hashes (with its group, rate and window) into its key: the
    same as a counted window's (orbit.lib.ratelimit.counter.rule_value)."""
    return rule_value(schema=schema, scope=scope, ident=ident)


# One rate-limit window's counter (orbit.lib.ratelimit counts them; the key keeps billing's prefix).
ratelimit_counter = counter_key
