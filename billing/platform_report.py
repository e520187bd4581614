"""`manage.py stats --platform`: the operator's platform figures (tenants, activity, revenue,
health) are computed by an upper app from its snapshot tables (tenants.dashboard). That app
registers its report function here once, at startup (TenantsConfig.ready) — the same explicit
composition wiring as billing.lifecycle's hooks — so billing's command never imports it."""

from __future__ import annotations

from collections.abc import Callable

_provider: Callable[..., dict] | None = None


def provide(report: Callable[..., dict]) -> None:
    """Register `report(period=...) -> dict` (JSON-ready)."""
    global _provider
    _provider = report


def platform_report(*, period: str) -> dict:
    if _provider is None:
        raise LookupError("no platform report is registered (the tenants app provides it)")
    return _provider(period=period)
