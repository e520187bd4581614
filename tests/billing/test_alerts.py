"""Limit alerts: raised by check() and by the periodic meter recompute through the same
service (once per organization, metric, period and level), e-mailed to the tenant's
owners and admins and to its parent's (partner, holding), never to anyone else."""

from __future__ import annotations

from django.core import mail
from django.core.cache import caches
from django.utils import timezone, translation
from django_tenants.utils import get_tenant_model, schema_context

from billing import limits, meters, periods, services
from billing.models import LimitAlert
from tests.billing.conftest import new_key
from tests.factories import UserFactory


def period():
    return periods.period_of(timezone.now())


def use(org, metric: str, n: int, on_commit) -> None:
    with on_commit():
        meters.record_many([meters.Event(org.pk, metric, 1, new_key()) for _ in range(n)])


def recompute(on_commit) -> int:
    with on_commit():
        return services.meters_recompute(period=period())


def alerts(org, **filters):
    return sorted(LimitAlert.objects.filter(organization_id=org.pk, **filters).values_list("metric", "level"))


def make_partner(partner, client) -> None:
    Organization = get_tenant_model()
    Organization.objects.filter(pk=partner.pk).update(kind="partner")
    Organization.objects.filter(pk=client.pk).update(parent=partner)
    services.limits_profile_forget(organization_ids=[partner.pk, client.pk])


# --- the recompute raises them, once --------------------------------------------------


def test_recompute_raises_a_soft_alert_once_across_recomputes(db, tenant, other_tenant, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="conversation_started", limit=10)
        services.limit_override_set(organization=other_tenant, metric="conversation_started", limit=10)
    use(tenant, "conversation_started", 8, on_commit)
    use(other_tenant, "conversation_started", 7, on_commit)  # 70 %: nothing
    recompute(on_commit)
    assert alerts(tenant) == [("conversation_started", "soft_80")]
    alert = LimitAlert.objects.get(organization_id=tenant.pk)
    assert (alert.used, alert.limit, alert.period) == (8, 10, period())
    recompute(on_commit)
    caches["shared"].clear()  # the flag gone (evicted, another node): the constraint still holds
    recompute(on_commit)
    assert LimitAlert.objects.filter(organization_id=tenant.pk).count() == 1
    assert alerts(other_tenant) == []
    # a higher level later is a new alert; the lower one is not raised again
    use(tenant, "conversation_started", 1, on_commit)
    recompute(on_commit)
    assert alerts(tenant) == [("conversation_started", "soft_80"), ("conversation_started", "soft_90")]
    assert alerts(other_tenant) == []


def test_check_and_recompute_share_the_once(db, tenant, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="message", limit=10)
    use(tenant, "message", 8, on_commit)
    with on_commit():
        assert limits.check(tenant, "message").level == "soft_90"  # 9 of 10 with the new one
    use(tenant, "message", 1, on_commit)
    recompute(on_commit)  # 9 of 10 in the meters: soft_90 again, already raised
    assert alerts(tenant) == [("message", "soft_90")]


def test_recompute_alerts_beyond_the_limit_and_for_gauges(db, tenant, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="storage_bytes", limit=1000)
        meters.record(organization=tenant, metric="storage_bytes", quantity=1200, idempotency_key=new_key())
        meters.record(organization=tenant, metric="storage_bytes", quantity=850, idempotency_key=new_key())
    recompute(on_commit)  # the last reading (850) counts, not the peak
    assert alerts(tenant) == [("storage_bytes", "soft_80")]
    with on_commit():
        services.limit_override_set(organization=tenant, metric="storage_bytes", limit=800)  # a smaller plan
    recompute(on_commit)
    assert alerts(tenant) == [("storage_bytes", "refused"), ("storage_bytes", "soft_80")]


def test_recompute_leaves_unlimited_suspended_and_quiet_tenants_alone(db, tenant, other_tenant, on_commit):
    use(tenant, "message", 50, on_commit)  # message: unlimited on the plan
    with on_commit():
        services.limit_override_set(organization=other_tenant, metric="conversation_started", limit=2)
    use(other_tenant, "conversation_started", 2, on_commit)
    get_tenant_model().objects.filter(pk=other_tenant.pk).update(status="suspended")
    assert recompute(on_commit) == 2
    assert LimitAlert.objects.count() == 0


def test_alerts_of_a_closing_period_are_not_raised(db, tenant, on_commit):
    with on_commit():
        services.limit_override_set(organization=tenant, metric="message", limit=10)
    use(tenant, "message", 9, on_commit)
    later = timezone.now() + __import__("datetime").timedelta(days=40)
    with on_commit():
        services.meters_recompute(period=period(), now=later)  # the period is over by then
    assert LimitAlert.objects.count() == 0


def test_raising_for_bad_levels_is_refused(db, tenant):
    import pytest

    with pytest.raises(services.BillingError):
        services.limit_alert_raise_once(organization=tenant, metric="message", period=period(), level="soft_50",
                                        used=5, limit=10)


# --- e-mails: the tenant's admins, its parent's admins, nobody else --------------------


def raise_alert(org, level: str = "soft_80") -> LimitAlert:
    used = {"soft_80": 8, "soft_90": 9, "refused": 10}[level]
    return services.limit_alert_raise(organization=org, metric="conversation_started", period=period(), level=level,
                                      used=used, limit=10)


def test_without_a_parent_only_the_tenants_admins_get_it(db, tenant, other_tenant):
    with schema_context(other_tenant.schema_name):
        UserFactory(role="admin", email="admin@beta.example.com")
    alert = raise_alert(other_tenant)
    assert services.limit_alert_notify(alert_id=alert.pk) == ["admin@beta.example.com", "owner@beta.example.com"]
    assert [m.to for m in mail.outbox] == [["admin@beta.example.com", "owner@beta.example.com"]]


def test_a_partners_admins_get_their_clients_alerts_in_their_own_email(db, tenant, other_tenant):
    """alpha is the partner, beta its client."""
    make_partner(tenant, other_tenant)
    with schema_context(tenant.schema_name):
        UserFactory(role="admin", email="admin@alpha.example.com")
        UserFactory(role="agent", email="agent@alpha.example.com")  # agents are not told
        UserFactory(role="admin", email="gone@alpha.example.com", is_active=False)
    alert = raise_alert(other_tenant, level="soft_90")
    with translation.override("en"):  # the e-mail's language is the site's, not the caller's
        recipients = services.limit_alert_notify(alert_id=alert.pk)
    assert recipients == ["owner@beta.example.com", "admin@alpha.example.com", "owner@alpha.example.com"]
    client_mail, partner_mail = mail.outbox
    assert client_mail.to == ["owner@beta.example.com"]
    assert partner_mail.to == ["admin@alpha.example.com", "owner@alpha.example.com"]
    assert "Empresa Beta" in partner_mail.subject and "90%" in partner_mail.subject
    assert "Seu cliente Empresa Beta" in partner_mail.body
    assert "Seu cliente" not in client_mail.body
    assert services.limit_alert_notify(alert_id=alert.pk) == []  # once
    assert len(mail.outbox) == 2


def test_a_partners_own_alert_never_reaches_its_clients(db, tenant, other_tenant):
    make_partner(tenant, other_tenant)
    alert = raise_alert(tenant)
    assert services.limit_alert_notify(alert_id=alert.pk) == ["owner@alpha.example.com"]
    assert [m.to for m in mail.outbox] == [["owner@alpha.example.com"]]


def test_partner_email_in_english(db, tenant, other_tenant, settings):
    settings.LANGUAGE_CODE = "en"
    make_partner(tenant, other_tenant)
    alert = raise_alert(other_tenant, level="refused")
    services.limit_alert_notify(alert_id=alert.pk)
    partner_mail = mail.outbox[1]
    assert partner_mail.subject.startswith("Empresa Beta: ") and partner_mail.subject.endswith("limit reached")
    assert "Your client Empresa Beta" in partner_mail.body


# --- the operator admin -------------------------------------------------------------------


def test_operator_admin_filters_alerts_by_level(db, tenant, other_tenant, platform_client):
    from django.contrib.auth import get_user_model

    from tests.factories import OWNER_PASSWORD

    raise_alert(tenant, level="soft_80")
    raise_alert(other_tenant, level="refused")
    get_user_model().objects.create_superuser("op@orbit.localhost", OWNER_PASSWORD)
    platform_client.post("/admin/login/?next=/admin/", {"username": "op@orbit.localhost", "password": OWNER_PASSWORD})
    url = "/admin/billing/limitalert/"
    page = platform_client.get(url, {"level__exact": "refused"})
    assert page.status_code == 200
    assert [a.organization_id for a in page.context["cl"].result_list] == [other_tenant.pk]
    assert [a.organization_id for a in platform_client.get(url, {"near": "soft"}).context["cl"].result_list] == [tenant.pk]
    assert platform_client.get(url).context["cl"].result_count == 2
