"""Billing reads. Public-schema tables only: roll-ups never open another schema."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model

from billing import cache_keys, metrics, periods
from billing.models import LimitAlert, LimitOverride, Meter, Plan, UsageEvent

PROFILE_TTL = 60
_SLUG_CHARS = re.compile(r"[a-z0-9-]{1,40}")


def plan_get(*, code: str) -> Plan:
    """Raises Plan.DoesNotExist for an unknown code."""
    return Plan.objects.get(code=code)


def plan_codes() -> list[str]:
    return list(Plan.objects.values_list("code", flat=True))


def organization_by_slug(*, slug: str):
    """Raises the tenant model's DoesNotExist for an unknown slug (and for anything that
    cannot be a slug: NUL bytes and the like never reach the database)."""
    Organization = get_tenant_model()
    if not isinstance(slug, str) or not _SLUG_CHARS.fullmatch(slug):
        raise Organization.DoesNotExist(f"no organization {slug!r}")
    return Organization.objects.select_related("plan").get(slug=slug)


# --- limits profile (cached) ---------------------------------------------------------


def _ancestors_uncached(organization_id: int) -> list[int]:
    Organization = get_tenant_model()
    chain: list[int] = []
    parent_id = Organization.objects.filter(pk=organization_id).values_list("parent_id", flat=True).first()
    while parent_id is not None and parent_id not in chain and parent_id != organization_id:
        chain.append(parent_id)
        parent_id = Organization.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return chain


def _effective_limits(organizations) -> dict[int, dict[str, int | None]]:
    """{organization id: {metric: limit | None}}: each one's plan, then its overrides."""
    result = {org.pk: {metric: org.plan.limit_for(metric) for metric in metrics.METRICS} for org in organizations}
    overrides = LimitOverride.objects.filter(organization_id__in=list(result)).values_list("organization_id", "metric", "limit")
    for organization_id, metric, limit in overrides:
        result[organization_id][metric] = limit
    return result


def effective_limits(*, organization_ids: list[int]) -> dict[int, dict[str, int | None]]:
    """Many organizations' own limits in two queries (plans, overrides), uncached: for
    jobs that look at every organization (the meter recompute's alerts)."""
    organizations = get_tenant_model().objects.filter(pk__in=list(organization_ids)).select_related("plan")
    return _effective_limits(organizations)


def _limits_uncached(organization_id: int) -> dict:
    Organization = get_tenant_model()
    org = Organization.objects.select_related("plan").get(pk=organization_id)
    plan = org.plan
    return {
        "limits": _effective_limits([org])[org.pk],
        "ancestors": _ancestors_uncached(organization_id),
        "kind": org.kind,
        "api_per_minute": plan.api_requests_per_minute,
        "api_burst": plan.api_burst,
    }


# A few seconds in-process on top of the shared cache: the hot path (record, check, the
# rate-limit middleware) then costs no round trip for it. check() reads the organization's
# limits version (cache_keys.limits_version) with its usage counter in the same round trip
# and passes it here: a copy of another version is not used, so a plan or override change
# made by another process applies at once (the rate limits follow within PROFILE_LOCAL_TTL).
PROFILE_LOCAL_TTL = 5.0
ANY_VERSION = object()
_UNKNOWN_VERSION = object()
_local_profiles: dict[int, tuple[float, dict, object]] = {}


def limits_profile(*, organization_id: int, version=ANY_VERSION) -> dict:
    """{"limits": {metric: limit|None}, "ancestors": [ids, nearest first], "kind",
    "api_per_minute", "api_burst"}: cached on the shared cache for PROFILE_TTL seconds
    (and PROFILE_LOCAL_TTL in-process, see above), dropped by
    services.limits_profile_forget when a plan, an override or the tree changes."""
    now = time.monotonic()
    local = _local_profiles.get(organization_id)
    if local is not None and local[0] > now and (version is ANY_VERSION or local[2] == version):
        return local[1]
    key = cache_keys.limits(organization_id=organization_id)
    profile = cache_keys.cache().get(key)
    if profile is None:
        profile = _limits_uncached(organization_id)
        cache_keys.cache().set(key, profile, PROFILE_TTL)
    _local_profiles[organization_id] = (now + PROFILE_LOCAL_TTL, profile,
                                        _UNKNOWN_VERSION if version is ANY_VERSION else version)
    return profile


def forget_local_profiles(organization_ids: list[int] | None = None) -> None:
    if organization_ids is None:
        _local_profiles.clear()
    for i in organization_ids or []:
        _local_profiles.pop(i, None)


def ancestor_ids(organization_id: int) -> list[int]:
    return limits_profile(organization_id=organization_id)["ancestors"]


def effective_limit(*, organization, metric: str) -> int | None:
    """The organization's own limit: its override, else its plan's (None = unlimited)."""
    return limits_profile(organization_id=organization.pk)["limits"].get(metric)


# --- the tree --------------------------------------------------------------------------


def tree_ids(*, organization_id: int) -> list[int]:
    """The organization and all its descendants (public organization table)."""
    table = connection.ops.quote_name(get_tenant_model()._meta.db_table)
    schema = connection.ops.quote_name(get_public_schema_name())
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE tree(id) AS (SELECT %s::bigint UNION "
            f"SELECT o.id FROM {schema}.{table} o JOIN tree ON o.parent_id = tree.id) SELECT id FROM tree",
            [organization_id],
        )
        return [row[0] for row in cursor.fetchall()]


# --- ledger reads ---------------------------------------------------------------------


def ledger_usage(*, organization_ids: list[int], metric: str, period: dt.date) -> int:
    """What counts against a limit, straight from the ledger: the sum of a counter, or
    the sum over the organizations of each one's last gauge reading."""
    events = UsageEvent.objects.filter(organization_id__in=organization_ids, metric=metric, period=period)
    if not metrics.is_gauge(metric):
        return int(events.aggregate(total=Sum("quantity"))["total"] or 0)
    last = events.order_by("organization_id", "-occurred_at", "-id").distinct("organization_id")
    return int(sum(last.values_list("quantity", flat=True)))


# --- usage for people ----------------------------------------------------------------


@dataclass(frozen=True)
class UsageRow:
    metric: str
    label: str
    used: int
    limit: int | None
    percent: int | None
    level: str

    @property
    def unlimited(self) -> bool:
        return metrics.is_unlimited(self.limit)

    @property
    def bar_class(self) -> str:
        if self.percent is None or self.percent < 80:
            return ""
        return "warn" if self.percent < 100 else "over"

    @property
    def bar_width(self) -> int:
        return min(100, self.percent or 0)


def level_for(*, used: int, limit: int | None) -> str:
    """ok | soft_80 | soft_90 | refused for a usage (refused only beyond the limit)."""
    if metrics.is_unlimited(limit):
        return "ok"
    if used > limit:
        return "refused"
    if used * 10 >= limit * 9:
        return "soft_90"
    if used * 10 >= limit * 8:
        return "soft_80"
    return "ok"


def rollup(*, organization, period: dt.date) -> dict[str, int]:
    """A partner's or holding's tree totals (itself and every descendant) per metric,
    from the meters: counters summed, gauges as the sum of last readings."""
    ids = tree_ids(organization_id=organization.pk)
    totals = {metric: 0 for metric in metrics.METRICS}
    for metric, value, last in Meter.objects.filter(organization_id__in=ids, period=period).values_list(
        "metric", "value", "last_value"
    ):
        totals[metric] += last if metrics.is_gauge(metric) else value
    return totals


def rollup_children(*, organization, period: dt.date) -> list[dict]:
    """Per direct child: its tree totals (for a partner's or holding's clients page)."""
    children = get_tenant_model().objects.filter(parent_id=organization.pk).order_by("name")
    return [{"organization": child, "totals": rollup(organization=child, period=period)} for child in children]


def meters_for(*, organization, period: dt.date) -> list[Meter]:
    return list(Meter.objects.filter(organization_id=organization.pk, period=period).order_by("metric"))


def active_alerts(organization) -> list[LimitAlert]:
    """The current period's undismissed alerts, the most severe per metric, for the
    tenant admins' banner."""
    if organization is None or not getattr(organization, "pk", None):
        return []
    period = periods.period_of(timezone.now())
    order = {LimitAlert.Level.REFUSED: 0, LimitAlert.Level.SOFT_90: 1, LimitAlert.Level.SOFT_80: 2}
    best: dict[str, LimitAlert] = {}
    for alert in LimitAlert.objects.filter(organization_id=organization.pk, period=period, dismissed_at__isnull=True):
        current = best.get(alert.metric)
        if current is None or order[alert.level] < order[current.level]:
            best[alert.metric] = alert
    return sorted(best.values(), key=lambda a: (order[a.level], a.metric))
