"""Quota checks, for the callers about to create something metered:

    result = limits.check(organization, metric, amount=1)   # may it? (raises the alert a level calls for)
    limits.require(organization, metric, amount=1)          # the same, LimitExceeded when refused

`check` is billing.services.limit_check: the pure read (billing.selectors.limits.limit_status)
plus, at 80 %, 90 % and beyond the limit, the alert once per period. This module only gathers
them for its callers (it sits above services in billing's layers)."""

from __future__ import annotations

from billing import metrics
from billing.selectors.limits import (
    BLOCKED_STATUSES,
    OK,
    REFUSED,
    SEAT_ROLES,
    SOFT_80,
    SOFT_90,
    LimitResult,
    current_usage,
    limit_status,
    seat_count,
    tree_usage,
)
from billing.services.usage import limit_check
from orbit.lib.errors import OrbitError

__all__ = ["BLOCKED_STATUSES", "OK", "REFUSED", "SEAT_ROLES", "SOFT_80", "SOFT_90", "LimitExceeded", "LimitResult",
           "check", "check_agent_seat", "current_usage", "limit_status", "require", "seat_count", "tree_usage"]

check = limit_check


class LimitExceeded(OrbitError):
    code = "limit_reached"
    status = 403

    def __init__(self, result: LimitResult):
        super().__init__(result.reason, code=result.code)
        self.result = result


def check_agent_seat(organization) -> LimitResult:
    """May one more agent (or admin) be invited? For the settings / invite pages."""
    return limit_check(organization, metrics.AGENT_SEAT, 1)


def require(organization, metric: str, amount: int = 1) -> LimitResult:
    """check() that raises LimitExceeded (carrying the result) when refused."""
    result = limit_check(organization, metric, amount)
    if not result.allowed:
        raise LimitExceeded(result)
    return result
