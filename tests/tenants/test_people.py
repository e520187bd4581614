"""tenants.services.people: every change of a tenant's seat count (invite, role, deactivate,
reactivate, the new organization's owner) is one `agent_seat` reading in the public ledger,
keyed by the change; refusals write nothing; one tenant's changes never touch another's."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from accounts.services import UserRefused
from billing import limits, periods
from billing import services as billing_services
from billing.models import Meter, UsageEvent
from tenants import services
from tests.factories import UserFactory, logged_in, make_organization, owner_email

User = get_user_model()
BASE_URL = "http://alpha.localhost"


def readings(org) -> list[int]:
    return list(UsageEvent.objects.filter(organization_id=org.pk, metric="agent_seat").order_by("id")
                .values_list("quantity", flat=True))


def owner_of(org):
    with schema_context(org.schema_name):
        return User.objects.get(email=owner_email(org.slug))


def invite(org, email: str, role: str = "agent"):
    return services.agent_invite(organization=org, email=email, role=role, invited_by=owner_of(org), base_url=BASE_URL)


def test_invite_deactivate_reactivate_each_record_the_new_count(db, tenant, other_tenant):
    owner = owner_of(tenant)
    person = invite(tenant, "Nova@Alpha.example")
    assert readings(tenant) == [2]
    with schema_context(tenant.schema_name):
        audit = AuditEntry.objects.get(action="user.invite", target="nova@alpha.example")
    assert UsageEvent.objects.get(organization_id=tenant.pk, metric="agent_seat").idempotency_key == \
        f"seat:{tenant.pk}:user.invite:{audit.pk}"
    services.agent_deactivate(organization=tenant, user_id=person.pk, actor=owner)
    assert readings(tenant) == [2, 1]
    services.agent_deactivate(organization=tenant, user_id=person.pk, actor=owner)  # already inactive: no change
    assert readings(tenant) == [2, 1]
    services.agent_reactivate(organization=tenant, user_id=person.pk, actor=owner)
    assert readings(tenant) == [2, 1, 2]
    assert readings(other_tenant) == []
    # the meter's last reading is the live count
    billing_services.meters_recompute(period=periods.period_of(timezone.now()))
    meter = Meter.objects.get(organization_id=tenant.pk, metric="agent_seat")
    assert (meter.current, meter.value) == (2, 2) == (limits.seat_count(organization=tenant), 2)


def test_a_role_change_keeps_the_seat_and_the_reading(db, tenant):
    owner = owner_of(tenant)
    person = invite(tenant, "ana@alpha.example", role="agent")
    services.agent_set_role(organization=tenant, user_id=person.pk, role="admin", actor=owner)
    services.agent_set_role(organization=tenant, user_id=person.pk, role="agent", actor=owner)
    with schema_context(tenant.schema_name):
        assert User.objects.get(pk=person.pk).role == "agent"
        assert AuditEntry.objects.filter(action="user.role").count() == 2
    assert readings(tenant) == [2]  # admin and agent both hold a seat: the count never moved


def test_refusals_write_nothing(db, tenant, other_tenant):
    billing_services.limit_override_set(organization=tenant, metric="agent_seat", limit=2)
    owner = owner_of(tenant)
    person = invite(tenant, "um@alpha.example")
    with pytest.raises(UserRefused) as refused:
        invite(tenant, "dois@alpha.example")
    assert "Agentes" in str(refused.value) or "Agents" in str(refused.value)
    services.agent_deactivate(organization=tenant, user_id=person.pk, actor=owner)
    invite(tenant, "tres@alpha.example")  # the freed seat
    before = UsageEvent.objects.count()
    with schema_context(tenant.schema_name):
        audit_before = AuditEntry.objects.count()
    with pytest.raises(UserRefused):  # no seat to come back to
        services.agent_reactivate(organization=tenant, user_id=person.pk, actor=owner)
    with pytest.raises(UserRefused):
        invite(tenant, "not-an-email")
    with pytest.raises(UserRefused):
        invite(tenant, "quatro@alpha.example", role="owner")
    with pytest.raises(UserRefused):
        services.agent_deactivate(organization=tenant, user_id=owner.pk, actor=owner)  # oneself
    with pytest.raises(User.DoesNotExist):
        services.agent_deactivate(organization=tenant, user_id=999999, actor=owner)
    assert UsageEvent.objects.count() == before
    with schema_context(tenant.schema_name):
        assert AuditEntry.objects.count() == audit_before
        assert not User.objects.get(pk=person.pk).is_active
        assert not User.objects.filter(email__in=["dois@alpha.example", "quatro@alpha.example"]).exists()
    assert readings(tenant) == [2, 1, 2]
    assert readings(other_tenant) == []


def test_the_seat_limit_is_checked_in_the_right_tenant(db, tenant, other_tenant):
    """beta full, alpha not: alpha's invites go on, beta's are refused, each counted apart."""
    billing_services.limit_override_set(organization=other_tenant, metric="agent_seat", limit=1)
    with pytest.raises(UserRefused):
        invite(other_tenant, "x@beta.example")
    invite(tenant, "x@alpha.example")
    assert (readings(tenant), readings(other_tenant)) == ([2], [])
    with schema_context(other_tenant.schema_name):
        assert not User.objects.filter(email="x@beta.example").exists()
    with schema_context(tenant.schema_name):
        assert User.objects.filter(email="x@alpha.example").exists()


def test_a_new_organization_starts_with_its_owners_seat(db):
    company = make_organization("assentos")
    event = UsageEvent.objects.get(organization_id=company.pk, metric="agent_seat")
    assert (event.quantity, event.idempotency_key) == (1, f"seat:{company.pk}:org.create:{company.pk}")


def test_the_agents_page_meters_through_the_service(db, tenant, other_tenant):
    host = tenant.domains.get(is_primary=True).domain
    owner = logged_in(host, owner_email("alpha"))
    assert owner.post("/settings/agents/invite/", {"email": "web@alpha.example", "role": "agent"}).status_code == 302
    with schema_context(tenant.schema_name):
        person = User.objects.get(email="web@alpha.example")
        UserFactory(email="outra@alpha.example", role="agent")  # outside the pages: no reading
    owner.post(f"/settings/agents/{person.pk}/", {"action": "deactivate"})
    owner.post(f"/settings/agents/{person.pk}/", {"action": "role", "role": "admin"})
    owner.post(f"/settings/agents/{person.pk}/", {"action": "reactivate"})
    assert readings(tenant) == [2, 2, 3]
    assert readings(other_tenant) == []
