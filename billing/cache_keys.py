"""Every cache key billing uses, built here and only here.

All of them live on the "shared" cache alias (no django-tenants prefix) and therefore
carry the tenant themselves: the organization id (usage counters, limits, alerts) or
the schema name (rate-limit values, hashed by django-ratelimit with its group)."""

from __future__ import annotations

import datetime as dt

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
    """The value django-ratelimit hashes (with its group, rate and window) into its key."""
    return f"{schema}|{scope}|{ident}"


def ratelimit_counter(*, schema: str, scope: str, ident: str = "", policy: str, quota: int, window: int,
                      window_end: int) -> str:
    """One rate-limit window's counter: tenant schema, scope (api, widget, login-ip,
    login-account), ident (visitor IP, account), the policy and its rate, and the end of
    the fixed window it counts (so a new window is a new key)."""
    return f"billing:rl:{schema}|{scope}|{ident}:{policy}:{quota}/{window}s:{window_end}"
