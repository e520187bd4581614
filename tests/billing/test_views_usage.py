"""The tenant admins' usage page and limit banner; the operator's admin."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from billing import meters, periods, services
from tests.billing.conftest import new_key
from tests.factories import OWNER_PASSWORD, UserFactory, owner_email


def login(client, email):
    assert client.login(username=email, password=OWNER_PASSWORD) or client.post(
        "/accounts/login/", {"username": email, "password": OWNER_PASSWORD}).status_code == 302


def test_owner_sees_usage_against_limits_with_bars(db, tenant, tenant_client, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="conversation_started", limit=10)
        meters.record_many([meters.Event(tenant.pk, "conversation_started", 1, new_key()) for _ in range(8)])
    from billing import limits

    assert limits.check(tenant, "conversation_started").level == "soft_90"  # the 9th: raises the alert
    with on_commit():
        meters.record(organization=tenant, metric="conversation_started", idempotency_key=new_key())
    tenant_client.post("/accounts/login/", {"username": owner_email("alpha"), "password": OWNER_PASSWORD})
    response = tenant_client.get("/settings/usage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="bar warn"' in html and "90%" in html
    assert "ilimitado" in html  # messages have no limit
    assert 'href="/settings/usage/"' in html  # nav link
    assert 'data-level="soft_90"' in html  # the banner (the check above raised the alert)


def test_banner_shows_the_alert_to_admins_only(db, tenant, tenant_client):
    services.limit_alert_raise(organization=tenant, metric="conversation_started",
                               period=periods.period_of(timezone.now()), level="refused", used=10, limit=10)
    tenant_client.post("/accounts/login/", {"username": owner_email("alpha"), "password": OWNER_PASSWORD})
    assert 'data-level="refused"' in tenant_client.get("/").content.decode()
    with schema_context(tenant.schema_name):
        UserFactory(email="agent@alpha.example.com", role="agent")
    tenant_client.logout()
    tenant_client.post("/accounts/login/", {"username": "agent@alpha.example.com", "password": OWNER_PASSWORD})
    assert 'data-level=' not in tenant_client.get("/").content.decode()


def test_agents_get_404_and_anonymous_a_login(db, tenant, tenant_client):
    assert tenant_client.get("/settings/usage/").status_code == 302
    with schema_context(tenant.schema_name):
        UserFactory(email="agent@alpha.example.com", role="agent")
    tenant_client.post("/accounts/login/", {"username": "agent@alpha.example.com", "password": OWNER_PASSWORD})
    assert tenant_client.get("/settings/usage/").status_code == 404


def test_a_tenant_sees_only_its_own_usage(db, tenant, other_tenant, other_tenant_client, on_commit):
    with on_commit():
        meters.record_many([meters.Event(tenant.pk, "message", 1, new_key()) for _ in range(42)])
    other_tenant_client.post("/accounts/login/", {"username": owner_email("beta"), "password": OWNER_PASSWORD})
    html = other_tenant_client.get("/settings/usage/").content.decode()
    assert ">42<" not in html and 'data-metric="message"' in html


@pytest.fixture
def operator_client(db, platform_client):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("op@orbit.localhost", OWNER_PASSWORD)
    platform_client.post("/admin/login/?next=/admin/", {"username": "op@orbit.localhost", "password": OWNER_PASSWORD})
    return platform_client


def test_operator_admin_lists_meters_ledger_and_filters_alerts(operator_client, tenant, other_tenant):
    meters.record(organization=tenant, metric="message", idempotency_key="adm-1")
    services.meters_recompute(period=periods.period_of(timezone.now()))
    for org, level in ((tenant, "soft_80"), (other_tenant, "refused")):
        services.limit_alert_raise(organization=org, metric="message", period=periods.period_of(timezone.now()),
                                   level=level, used=1, limit=1)
    assert "adm-1" in operator_client.get("/admin/billing/usageevent/").content.decode()
    assert operator_client.get("/admin/billing/meter/").status_code == 200
    assert operator_client.get("/admin/billing/usageevent/add/").status_code == 403
    refused = operator_client.get("/admin/billing/limitalert/?near=refused").content.decode()
    assert "beta" in refused and "alpha" not in refused.split("result_list")[1]
    response = operator_client.post("/admin/billing/limitoverride/add/",
                                    {"organization": tenant.pk, "metric": "message", "limit": "5", "note": ""})
    assert response.status_code == 302
    from billing import limits

    assert limits.check(tenant, "message", 5).allowed is False
