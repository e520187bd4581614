"""billing.limits.check: levels, alerts once per period, hard refusal, overrides, the
partner's package, suspended tenants, tenant isolation."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone, translation
from django_tenants.utils import schema_context

from billing import limits, meters, selectors, services
from billing.models import LimitAlert, Plan
from tests.billing.conftest import cached, ledger_count, new_key
from tests.factories import UserFactory


def use(org, metric: str, n: int, on_commit) -> None:
    with on_commit():
        meters.record_many([meters.Event(org.pk, metric, 1, new_key()) for _ in range(n)])


def test_plan_limits_apply_and_none_is_unlimited(db, tenant):
    plan = Plan.objects.get(code="professional")
    assert selectors.effective_limit(organization=tenant, metric="conversation_started") == plan.max_conversations_month
    assert selectors.effective_limit(organization=tenant, metric="message") is None
    result = limits.check(tenant, "message", 10**9)
    assert (result.allowed, result.level, result.unlimited, result.reason) == (True, "ok", True, "")


def test_levels_and_soft_alerts_fire_once_per_period(db, tenant, on_commit):
    services.limit_override_set(organization=tenant, metric="conversation_started", limit=10)
    selectors.limits_profile(organization_id=tenant.pk)
    with on_commit():
        services.limit_override_set(organization=tenant, metric="conversation_started", limit=10)
    use(tenant, "conversation_started", 7, on_commit)
    assert limits.check(tenant, "conversation_started").level == "soft_80"  # 8 of 10
    for _ in range(5):
        result = limits.check(tenant, "conversation_started")
        assert result.allowed and result.level == "soft_80"
    use(tenant, "conversation_started", 1, on_commit)
    result = limits.check(tenant, "conversation_started")
    assert (result.allowed, result.level, result.used, result.limit) == (True, "soft_90", 8, 10)
    assert "90%" in result.reason or "9" in result.reason
    alerts = LimitAlert.objects.filter(organization_id=tenant.pk, metric="conversation_started")
    assert sorted(alerts.values_list("level", flat=True)) == ["soft_80", "soft_90"]
    # the flag in the cache gone (another web node): the unique constraint still holds
    from django.core.cache import caches

    caches["shared"].clear()
    limits.check(tenant, "conversation_started")
    assert alerts.count() == 2
    assert [a.level for a in selectors.active_alerts(tenant)] == ["soft_90"]


def test_hard_limit_refuses_and_stores_nothing(db, tenant, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="conversation_started", limit=3)
    use(tenant, "conversation_started", 3, on_commit)
    before = ledger_count()
    with translation.override("pt-br"):
        result = limits.check(tenant, "conversation_started")
    assert (result.allowed, result.level, result.used, result.limit) == (False, "refused", 3, 3)
    assert "Limite do plano atingido" in result.reason
    with translation.override("en"):
        assert "Plan limit reached" in limits.check(tenant, "conversation_started").reason
    with pytest.raises(limits.LimitExceeded) as exc:
        limits.require(tenant, "conversation_started")
    assert exc.value.result.code == "limit_reached"
    assert ledger_count() == before
    assert cached(tenant, "conversation_started") == 3
    assert LimitAlert.objects.filter(organization_id=tenant.pk, level="refused").count() == 1


def test_an_override_raises_one_tenants_limit_only(db, tenant, other_tenant, on_commit):
    with on_commit():
        for org in (tenant, other_tenant):
            services.limit_override_set(organization=org, metric="message", limit=2)
    use(tenant, "message", 2, on_commit)
    use(other_tenant, "message", 2, on_commit)
    assert not limits.check(tenant, "message").allowed
    with on_commit():
        services.limit_override_set(organization=tenant, metric="message", limit=None, note="cliente VIP")
    assert limits.check(tenant, "message").allowed
    assert limits.check(tenant, "message").unlimited
    assert not limits.check(other_tenant, "message").allowed
    with pytest.raises(services.BillingError):
        services.limit_override_set(organization=tenant, metric="nope", limit=1)


def test_a_limit_on_tenant_a_never_touches_tenant_b(db, tenant, other_tenant, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="conversation_started", limit=1)
    use(tenant, "conversation_started", 5, on_commit)
    assert not limits.check(tenant, "conversation_started").allowed
    result = limits.check(other_tenant, "conversation_started")
    assert result.allowed and result.used == 0 and result.limit == 10_000
    assert cached(other_tenant, "conversation_started") == 0
    assert not LimitAlert.objects.filter(organization_id=other_tenant.pk).exists()
    assert selectors.active_alerts(other_tenant) == []


@pytest.mark.parametrize("status", ["suspended", "cancelled"])
def test_suspended_and_cancelled_tenants_are_refused_everything(db, tenant, status):
    tenant.status = status
    for metric in ("conversation_started", "message", "agent_seat", "storage_bytes", "api_call"):
        result = limits.check(tenant, metric)
        assert not result.allowed and result.level == "refused"


def test_agent_seats_are_counted_in_the_tenant(db, tenant, other_tenant, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="agent_seat", limit=3)
    with schema_context(tenant.schema_name):  # the owner holds one seat
        UserFactory(role="agent")
        result = limits.check_agent_seat(tenant)
        assert (result.allowed, result.used) == (True, 2)
        UserFactory(role="admin")
        result = limits.check_agent_seat(tenant)
    assert (result.allowed, result.used, result.limit) == (False, 3, 3)
    assert limits.check_agent_seat(other_tenant).used == 1


def test_storage_adds_the_upload_to_the_last_reading(db, tenant, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="storage_bytes", limit=1000)
        meters.record(organization=tenant, metric="storage_bytes", quantity=900, idempotency_key=new_key())
        meters.record(organization=tenant, metric="storage_bytes", quantity=600, idempotency_key=new_key())
    assert limits.check(tenant, "storage_bytes", 400).allowed
    assert not limits.check(tenant, "storage_bytes", 401).allowed


def test_a_partners_package_caps_its_childrens_sum(db, tenant, other_tenant, on_commit):
    """alpha as a partner with beta as its sub-client; the partner's own override caps both."""
    from django_tenants.utils import get_tenant_model

    Organization = get_tenant_model()
    Organization.objects.filter(pk=tenant.pk).update(kind="partner")
    Organization.objects.filter(pk=other_tenant.pk).update(parent=tenant)
    services.limits_profile_forget(organization_ids=[tenant.pk, other_tenant.pk])
    with on_commit():
        services.limit_override_set(organization=tenant, metric="conversation_started", limit=10)
    use(tenant, "conversation_started", 4, on_commit)
    use(other_tenant, "conversation_started", 5, on_commit)
    assert limits.check(other_tenant, "conversation_started").allowed  # 10 of 10
    assert not limits.check(other_tenant, "conversation_started", 2).allowed
    use(other_tenant, "conversation_started", 1, on_commit)
    with translation.override("pt-br"):
        result = limits.check(other_tenant, "conversation_started")
    assert not result.allowed and "parceiro" in result.reason
    assert result.limit == 10_000  # its own plan still has room: the package refused
    assert limits.tree_usage(organization_id=tenant.pk, metric="conversation_started",
                             period=__import__("billing.periods", fromlist=["x"]).period_of(timezone.now())) == 10


def test_alert_email_goes_to_the_tenant_admins_once(db, tenant, on_commit):
    with schema_context(tenant.schema_name):
        UserFactory(role="admin", email="admin@alpha.example.com")
        UserFactory(role="agent", email="agent@alpha.example.com")
    alert = services.limit_alert_raise(organization=tenant, metric="conversation_started",
                                       period=timezone.now().date().replace(day=1), level="soft_80", used=8, limit=10)
    assert services.limit_alert_raise(organization=tenant, metric="conversation_started",
                                      period=alert.period, level="soft_80", used=9, limit=10) is None
    recipients = services.limit_alert_notify(alert_id=alert.pk)
    assert recipients == ["admin@alpha.example.com", "owner@alpha.example.com"]
    assert services.limit_alert_notify(alert_id=alert.pk) == []
    assert len(mail.outbox) == 1 and "80%" in mail.outbox[0].subject
