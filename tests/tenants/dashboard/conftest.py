"""Dashboard fixtures: organizations as public rows without a schema (the snapshots read only
public tables), with the subscription billing would give them; days in the past as "today"."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import periods
from billing.models import Plan, Subscription
from tenants.dashboard import activity
from tenants.dashboard.models import ActivityDay, OrganizationDay, PlatformDay
from tenants.models import Organization

_numbers = itertools.count(1)


def noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, 12))


def org(slug: str, *, plan: str = "starter", status: str = "active", kind: str = "company", parent=None,
        created: dt.date = dt.date(2025, 1, 1), cycle: str = "monthly", sub_status: str | None = None) -> Organization:
    """An organization row (no schema) and its subscription."""
    plan_obj = Plan.objects.get(code=plan)
    organization = Organization(schema_name=f"dash_{slug.replace('-', '_')}_{next(_numbers)}", name=slug.title(),
                                slug=slug, kind=kind, parent=parent, plan=plan_obj, status=status)
    organization.save()
    Organization.objects.filter(pk=organization.pk).update(created_at=noon(created))
    organization.refresh_from_db()
    sub_status = sub_status or {"trial": "trialing"}.get(status, status)
    start = periods.period_of(noon(created))
    Subscription.objects.create(organization=organization, plan=plan_obj, cycle=cycle, status=sub_status,
                                current_period_start=start, current_period_end=periods.next_period(start))
    return organization


def set_state(organization, *, plan: str | None = None, status: str | None = None, sub_status: str | None = None,
              price_override: Decimal | None | str = "keep") -> None:
    """What billing's services leave behind (plan change applied, cancelled, reactivated)."""
    org_fields, sub_fields = {}, {}
    if plan is not None:
        plan_obj = Plan.objects.get(code=plan)
        org_fields["plan"] = sub_fields["plan"] = plan_obj
    if status is not None:
        org_fields["status"] = status
        sub_fields["status"] = sub_status or {"trial": "trialing"}.get(status, status)
    if price_override != "keep":
        sub_fields["price_override"] = price_override
    if org_fields:
        Organization.objects.filter(pk=organization.pk).update(**org_fields)
    if sub_fields:
        Subscription.objects.filter(organization_id=organization.pk).update(**sub_fields)


@pytest.fixture
def clean_dashboard(db, session_tenants):
    """No snapshot or activity rows but this test's; the session tenants out of the figures."""
    activity.forget()
    PlatformDay.objects.all().delete()
    OrganizationDay.objects.all().delete()
    ActivityDay.objects.all().delete()
    Organization.objects.filter(pk__in=session_tenants.ids).update(created_at=timezone.now() + dt.timedelta(days=3650))
    yield
