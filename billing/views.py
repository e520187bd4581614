"""Tenant settings page: usage against limits. Thin: parse, one selector, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from billing import periods, selectors


@login_required
def usage(request):
    if not getattr(request.user, "is_tenant_admin", False) or getattr(request, "tenant", None) is None:
        raise Http404
    period = periods.period_of(timezone.now())
    context = {
        "organization": request.tenant,
        "period": periods.label(period),
        "rows": selectors.usage_summary(organization=request.tenant, period=period),
        "plan": request.tenant.plan,
    }
    return render(request, "billing/usage.html", context)
