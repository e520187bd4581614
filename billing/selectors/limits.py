"""Quota reads: where an organization stands against a limit. Pure reads (no alert is
raised here: billing.services.limit_check raises them).

Fast: the organization's limits and ancestors come from a cached profile, its usage from
a cached counter on the shared Redis fed by the ledger (billing.usage_cache). Agent seats
are counted live in the organization's own schema (the users are the truth).

Levels, on the usage the new amount would bring: ok below 80 %, soft_80 from 80 %,
soft_90 from 90 % (allowed), refused beyond 100 % (not allowed: the caller stores nothing).
A partner's or holding's effective limit also caps its whole tree: a child is refused when
the tree would go beyond it. Suspended and cancelled organizations are refused everything."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing import cache_keys, metrics, periods, usage_cache
from billing.models import Meter
from billing.selectors.usage import UsageRow, effective_limit, ledger_usage, level_for, limits_profile, tree_ids

OK = "ok"
SOFT_80 = "soft_80"
SOFT_90 = "soft_90"
REFUSED = "refused"
BLOCKED_STATUSES = ("suspended", "cancelled")
SEAT_ROLES = ("owner", "admin", "agent")


@dataclass(frozen=True)
class LimitResult:
    allowed: bool
    level: str  # ok | soft_80 | soft_90 | refused
    reason: str  # translated into the active language; "" when ok
    used: int
    limit: int | None  # None = unlimited
    metric: str = ""
    amount: int = 0  # what the caller wants to add
    period: dt.date | None = None
    by_tree: bool = False  # refused by a partner's or holding's package, not the organization's own limit

    @property
    def unlimited(self) -> bool:
        return metrics.is_unlimited(self.limit)

    @property
    def code(self) -> str:
        """A stable machine code for API/websocket errors."""
        return {OK: "ok", SOFT_80: "limit_warning", SOFT_90: "limit_warning"}.get(self.level, "limit_reached")


def seat_count(*, organization) -> int:
    """People holding a seat: active owners, admins and agents in the organization's schema."""
    with schema_context(organization.schema_name):
        return get_user_model().objects.filter(is_active=True, role__in=SEAT_ROLES).count()


def current_usage(*, organization, metric: str, period: dt.date | None = None) -> int:
    """What counts against the limit now: seats live, everything else from the cached
    counter (warmed from the ledger when cold)."""
    period = period or periods.period_of(timezone.now())
    if metric == metrics.AGENT_SEAT:
        return seat_count(organization=organization)
    key = cache_keys.usage_counter(organization_id=organization.pk, metric=metric, period=period)
    return usage_cache.get_or_warm(
        key, lambda: ledger_usage(organization_ids=[organization.pk], metric=metric, period=period)
    )


def _usage_and_profile(*, organization, metric: str, period: dt.date) -> tuple[int, dict]:
    """current_usage() and the limits profile, with the limits version read in the same
    round trip as the usage counter (a profile changed elsewhere is never used stale)."""
    version_key = cache_keys.limits_version(organization_id=organization.pk)
    if metric == metrics.AGENT_SEAT:
        version = cache_keys.cache().get(version_key)
        used = seat_count(organization=organization)
    else:
        key = cache_keys.usage_counter(organization_id=organization.pk, metric=metric, period=period)
        found = cache_keys.cache().get_many([key, version_key])
        version = found.get(version_key)
        used = int(found[key]) if key in found else current_usage(organization=organization, metric=metric,
                                                                   period=period)
    return used, limits_profile(organization_id=organization.pk, version=version)


def tree_usage(*, organization_id: int, metric: str, period: dt.date) -> int:
    """An organization's and all its descendants' usage together (public ledger only)."""
    key = cache_keys.usage_counter(organization_id=organization_id, metric=metric, period=period, scope="tree")
    return usage_cache.get_or_warm(
        key,
        lambda: ledger_usage(organization_ids=tree_ids(organization_id=organization_id), metric=metric, period=period),
    )


def _reason(level: str, metric: str, used: int, limit: int | None) -> str:
    values = {"label": metrics.LABELS[metric], "used": used, "limit": limit,
              "percent": int(used * 100 / limit) if limit else 100}
    if level in (SOFT_80, SOFT_90):
        return _("Atenção: %(percent)s%% do limite de %(label)s usado (%(used)s de %(limit)s).") % values
    if level == REFUSED:
        return _(
            "Limite do plano atingido: %(label)s (%(used)s de %(limit)s). "
            "Nada foi criado; fale com o administrador da conta para ampliar o plano."
        ) % values
    return ""


def limit_status(organization, metric: str, amount: int = 1) -> LimitResult:
    """May `organization` add `amount` of `metric` now? A pure read: store nothing when
    `allowed` is False and show `reason`. For gauges, `amount` is what the new thing adds
    to the current reading (the upload's size in bytes, 1 seat)."""
    metrics.validate(metric)
    if not isinstance(amount, int) or amount < 0:
        raise ValueError(f"amount must be a non-negative integer, not {amount!r}")
    if getattr(organization, "status", None) in BLOCKED_STATUSES:
        reason = _("Esta conta está suspensa ou cancelada: nada novo pode ser criado. Fale com o suporte.")
        return LimitResult(False, REFUSED, reason, 0, None, metric, amount)
    period = periods.period_of(timezone.now())
    used, profile = _usage_and_profile(organization=organization, metric=metric, period=period)
    limit = profile["limits"].get(metric)
    after = used + amount
    level = level_for(used=after, limit=limit)
    if level == REFUSED:
        return LimitResult(False, REFUSED, _reason(REFUSED, metric, used, limit), used, limit, metric, amount, period)
    # The packages of the partners / holdings above cap their whole tree.
    for ancestor_id in profile["ancestors"]:
        ancestor_limit = limits_profile(organization_id=ancestor_id)["limits"].get(metric)
        if metrics.is_unlimited(ancestor_limit):
            continue
        tree_used = tree_usage(organization_id=ancestor_id, metric=metric, period=period)
        if tree_used + amount > ancestor_limit:
            reason = _(
                "O pacote contratado pelo seu parceiro atingiu o limite de %(label)s (%(used)s de %(limit)s). "
                "Nada foi criado; fale com o seu parceiro."
            ) % {"label": metrics.LABELS[metric], "used": tree_used, "limit": ancestor_limit}
            return LimitResult(False, REFUSED, reason, used, limit, metric, amount, period, by_tree=True)
    return LimitResult(True, level, _reason(level, metric, after, limit), used, limit, metric, amount, period)


def usage_summary(*, organization, period: dt.date | None = None) -> list[UsageRow]:
    """One row per metric: used (meters for past periods, the live cached counter for
    the open one), the effective limit and how close it is."""
    period = period or periods.period_of(timezone.now())
    is_open = period == periods.period_of(timezone.now())
    meters = {m.metric: m for m in Meter.objects.filter(organization_id=organization.pk, period=period)}
    rows = []
    for metric in metrics.METRICS:
        if is_open:
            used = current_usage(organization=organization, metric=metric, period=period)
        else:
            meter = meters.get(metric)
            used = meter.current if meter else ledger_usage(organization_ids=[organization.pk], metric=metric, period=period)
        limit = effective_limit(organization=organization, metric=metric)
        percent = None if metrics.is_unlimited(limit) else (int(used * 100 / limit) if limit else 100)
        rows.append(
            UsageRow(metric, str(metrics.LABELS[metric]), used, limit, percent, level_for(used=used, limit=limit))
        )
    return rows
