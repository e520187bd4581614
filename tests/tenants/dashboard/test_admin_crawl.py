"""No 500 anywhere in the operator's admin, in either language: every registered model's
list, search, add form and an object's page; the index, logout and the app pages. Section
names are the operator's language, not English app labels."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse as _reverse
from django.utils import timezone

from billing import periods, services
from billing.models import LimitAlert
from tenants.dashboard.models import AcquisitionCost
from tenants.dashboard.snapshots import snapshot_day
from tests.billing.conftest import bill_from, closable_now, last_period
from tests.tenants.test_admin import operator  # noqa: F401 (fixture)


def reverse(name, args=None):
    return _reverse(name, args=args, urlconf="orbit.urls_public")


@pytest.fixture
def some_of_everything(db, tenant, other_tenant):
    bill_from(tenant)
    services.period_close(period=last_period(), now=closable_now())
    services.credit_grant(organization=tenant, amount="10", note="crawl")
    LimitAlert.objects.create(organization=tenant, metric="conversation_started", period=periods.period_of(timezone.now()),
                              level="soft_80", used=8000, limit=10000)
    AcquisitionCost.objects.create(month=periods.period_of(timezone.now()), amount=1000)
    now = timezone.now()
    snapshot_day(day=periods.localdate(now), now=now)


@pytest.mark.parametrize("language", ["pt-br", "en"])
def test_every_admin_page_answers_without_an_error(operator, some_of_everything, language):  # noqa: F811
    seen = []
    for path in ("/admin/", "/admin/?period=last-12-months", "/admin/tenants/", "/admin/billing/", "/admin/accounts/"):
        response = operator.get(path, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, (path, response.status_code)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if opts.app_label == "djstripe":
            continue  # dj-stripe's own admin, present only with Stripe keys in production
        base = f"admin:{opts.app_label}_{opts.model_name}"
        changelist = reverse(f"{base}_changelist")
        for query in ("", "?q=a", "?o=1"):
            response = operator.get(changelist + query, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code in (200, 302), (changelist + query, response.status_code)
        seen.append(changelist)
        obj = model_admin.get_queryset(operator_request()).first() if model_admin.has_view_permission(operator_request()) else None
        if obj is not None:
            change = reverse(f"{base}_change", args=[obj.pk])
            response = operator.get(change, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code in (200, 302), (change, response.status_code)
        if model_admin.has_add_permission(operator_request()):
            add = reverse(f"{base}_add")
            response = operator.get(add, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200, (add, response.status_code)
    assert len(seen) > 10


def operator_request():
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(email="ops@orbit.example.com")
    return request


def test_sections_are_named_in_the_operators_language(operator):  # noqa: F811
    portuguese = operator.get("/admin/", HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "Cobrança" in portuguese and "Organizações e painel" in portuguese and ">Billing<" not in portuguese
    english = operator.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Tenants and dashboard" in english and "Operator dashboard" in english
    assert operator.post("/admin/logout/").status_code == 302
