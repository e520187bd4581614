"""One organization as the operator sees it (the admin's per-tenant page): plan and
subscription, usage against limits with its monthly history, invoices and credit, agents
and their activity, brand, domains and audit trail. Public tables, plus this one
organization's own schema for its people and its audit log (one schema, on its own page)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from billing import metrics, periods, selectors
from billing.models import Meter
from billing.services import credit_balance
from branding.selectors import effective_brand
from tenants.dashboard.models import ActivityDay, OrganizationDay
from tenants.models import Organization

HISTORY_MONTHS = 12
ACTIVITY_DAYS = 30
AUDIT_ENTRIES = 30


@dataclass
class MetricHistory:
    metric: str
    label: str
    months: list[tuple[dt.date, int]] = field(default_factory=list)


@dataclass
class Overview:
    organization: Organization
    subscription: object | None
    usage: list
    history: list[MetricHistory]
    invoices: list
    credit: object
    agents: list[dict]
    activity_days: list[OrganizationDay]
    brand: object | None
    domains: list
    children: list
    audit: list[dict]
    schema_present: bool


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def _history(organization: Organization, *, now: dt.datetime) -> list[MetricHistory]:
    current = periods.period_of(now)
    first = current
    for _ in range(HISTORY_MONTHS - 1):
        first = periods.previous_period(first)
    found: dict[tuple[str, dt.date], int] = {}
    for meter in Meter.objects.filter(organization_id=organization.pk, period__gte=first):
        found[(meter.metric, meter.period)] = meter.current if metrics.is_gauge(meter.metric) else meter.value
    months = []
    month = first
    while month <= current:
        months.append(month)
        month = periods.next_period(month)
    return [MetricHistory(m, str(metrics.LABELS[m]), [(p, found.get((m, p), 0)) for p in months])
            for m in metrics.METRICS]


def _people(organization: Organization, *, since: dt.date) -> tuple[list[dict], list[dict]]:
    """Its users (with their activity in the last 30 days) and its audit trail."""
    activity = {row["actor"]: row for row in ActivityDay.objects.filter(
        organization_id=organization.pk, kind=ActivityDay.Kind.AGENT, day__gte=since)
        .values("actor").annotate(days=Count("day"), actions=Sum("actions"), last=Max("last_at"))}
    with schema_context(organization.schema_name):
        users = list(get_user_model().objects.order_by("-is_active", "email")
                     .values("email", "name", "role", "is_active", "last_login")[:200])
        audit = list(AuditEntry.objects.order_by("-created_at", "-id")
                     .values("created_at", "action", "actor_email", "actor_label", "target", "detail")[:AUDIT_ENTRIES])
    for user in users:
        seen = activity.get(user["email"].lower(), {})
        user["active_days"] = seen.get("days", 0)
        user["actions"] = seen.get("actions", 0)
        user["last_action"] = seen.get("last")
    return users, audit


def organization_overview(*, organization: Organization, now: dt.datetime | None = None) -> Overview:
    now = now or timezone.now()
    today = periods.localdate(now)
    since = today - dt.timedelta(days=ACTIVITY_DAYS - 1)
    present = _schema_exists(organization.schema_name)
    agents, audit = _people(organization, since=since) if present else ([], [])
    try:
        brand = effective_brand(organization)
    except Exception:  # a brand that cannot be computed must not hide the rest of the page
        brand = None
    return Overview(
        organization=organization,
        subscription=selectors.subscription_for(organization=organization),
        usage=selectors.usage_summary(organization=organization),
        history=_history(organization, now=now),
        invoices=list(selectors.invoice_list(organization=organization)[:12]),
        credit=credit_balance(organization_id=organization.pk),
        agents=agents,
        activity_days=list(OrganizationDay.objects.filter(organization_id=organization.pk, day__gte=since)
                           .order_by("day")),
        brand=brand,
        domains=list(organization.domains.order_by("-is_primary", "domain")),
        children=list(organization.children.select_related("plan").order_by("name")[:100]),
        audit=audit,
        schema_present=present,
    )
