"""The per-tenant admin page and its actions: each shows what it will do first, then does it
through the owning service and leaves an entry in the organization's audit log with the
operator's name."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from billing.models import CreditEntry, Subscription
from tenants.models import Organization
from tests.conftest import host_client
from tests.factories import owner_email
from tests.tenants.test_admin import OPERATOR_EMAIL, operator  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("db")


def overview(tenant) -> str:
    return f"/admin/tenants/organization/{tenant.pk}/overview/"


def act(tenant, action) -> str:
    return f"/admin/tenants/organization/{tenant.pk}/act/{action}/"


def audit_actions(tenant) -> list[tuple[str, str]]:
    with schema_context(tenant.schema_name):
        return list(AuditEntry.objects.order_by("id").values_list("action", "actor_label"))


def test_the_page_shows_plan_usage_people_invoices_brand_domains_and_audit(operator, tenant):  # noqa: F811
    page = operator.get(overview(tenant), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert tenant.name in page and "Professional" in page
    assert owner_email(tenant.slug) in page  # its people, read from its own schema
    assert "alpha.localhost" in page  # domains
    assert "25,0 GB" in page  # storage limit in GB, not bytes
    assert 'id="usage-history"' in page and 'id="audit"' in page and 'id="brand"' in page
    for action in ("suspend", "change-plan", "grant-credit"):
        assert act(tenant, action) in page
    assert act(tenant, "reactivate") not in page  # not blocked
    english = operator.get(overview(tenant), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "25.0 GB" in english and "Usage month by month" in english
    assert operator.get("/admin/tenants/organization/999999/overview/").status_code == 404


def test_suspend_asks_first_then_suspends_and_audits(operator, tenant):  # noqa: F811
    form = operator.get(act(tenant, "suspend"))
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    confirm = operator.get(act(tenant, "suspend"), {"step": "1", "reason": "fraude"})
    text = confirm.content.decode()
    assert "O que vai acontecer" in text and "conta suspensa" in text
    tenant.refresh_from_db()
    assert tenant.status == "active"  # nothing yet

    done = operator.post(act(tenant, "suspend"), {"step": "1", "reason": "fraude", "confirmed": "yes"})
    assert done.status_code == 302 and done["Location"] == overview(tenant)
    tenant.refresh_from_db()
    assert tenant.status == Organization.Status.SUSPENDED
    assert ("tenants.suspend", f"operador {OPERATOR_EMAIL}") in audit_actions(tenant)

    # a suspended tenant's page still loads its styles
    assert host_client("alpha.localhost").get("/static/orbit/base.css").status_code == 200
    assert host_client("alpha.localhost").get("/").status_code == 403

    operator.post(act(tenant, "reactivate"), {"confirmed": "yes"})
    tenant.refresh_from_db()
    assert tenant.status == "active"
    assert ("tenants.reactivate", f"operador {OPERATOR_EMAIL}") in audit_actions(tenant)


def test_reactivation_is_refused_while_billing_holds_the_block(operator, tenant):  # noqa: F811
    Organization.objects.filter(pk=tenant.pk).update(status="suspended")
    Subscription.objects.filter(organization_id=tenant.pk).update(status="suspended")
    page = operator.get(act(tenant, "reactivate")).content.decode()
    assert "marque as faturas em aberto como pagas" in page
    operator.post(act(tenant, "reactivate"), {"confirmed": "yes"})
    tenant.refresh_from_db()
    assert tenant.status == "suspended"


def test_grant_credit_states_the_amount_then_grants(operator, tenant):  # noqa: F811
    confirm = operator.get(act(tenant, "grant-credit"), {"step": "1", "amount": "150,50", "note": "cortesia"})
    assert "R$ 150,50 de crédito" in confirm.content.decode()
    assert not CreditEntry.objects.filter(organization_id=tenant.pk).exists()
    operator.post(act(tenant, "grant-credit"), {"step": "1", "amount": "150,50", "note": "cortesia", "confirmed": "yes"})
    entry = CreditEntry.objects.get(organization_id=tenant.pk)
    assert (entry.amount, entry.note, entry.actor_email) == (Decimal("150.50"), "cortesia", OPERATOR_EMAIL)
    assert ("billing.credit.grant", f"operador {OPERATOR_EMAIL}") in audit_actions(tenant)
    refused = operator.get(act(tenant, "grant-credit"), {"step": "1", "amount": "-3", "note": "x"}).content.decode()
    assert "errornote" in refused


def test_change_plan_previews_the_upgrade_then_applies_it(operator, tenant):  # noqa: F811
    confirm = operator.get(act(tenant, "change-plan"), {"step": "1", "plan": "business"}).content.decode()
    assert "Muda para Business agora" in confirm
    operator.post(act(tenant, "change-plan"), {"step": "1", "plan": "business", "confirmed": "yes"})
    tenant.refresh_from_db()
    assert tenant.plan.code == "business"
    assert ("billing.plan.upgrade", f"operador {OPERATOR_EMAIL}") in audit_actions(tenant)
    same = operator.get(act(tenant, "change-plan"), {"step": "1", "plan": "business"}).content.decode()
    assert "já está neste plano" in same


def test_extend_trial_only_for_a_trial(operator, tenant):  # noqa: F811
    assert operator.get(act(tenant, "extend-trial")).status_code == 302  # active: not offered
    from django.utils import timezone

    Subscription.objects.filter(organization_id=tenant.pk).update(status="trialing", trial_ends_at=timezone.now())
    confirm = operator.get(act(tenant, "extend-trial"), {"step": "1", "days": "10"}).content.decode()
    assert "ganha 10 dias" in confirm
    operator.post(act(tenant, "extend-trial"), {"step": "1", "days": "10", "confirmed": "yes"})
    sub = Subscription.objects.get(organization_id=tenant.pk)
    assert (sub.trial_ends_at - timezone.now()).days >= 9
    assert operator.get(act(tenant, "extend-trial"), {"step": "1", "days": "500"}).status_code == 200  # form error


def test_actions_need_an_operator(tenant):
    user = get_user_model().objects.create_user("cliente@orbit.example.com", "x-senha-forte-1")
    client = host_client("localhost")
    client.force_login(user)
    assert client.post(act(tenant, "suspend"), {"confirmed": "yes", "step": "1"}).status_code == 404
    tenant.refresh_from_db()
    assert tenant.status == "active"


def test_support_access_opens_a_session_on_the_tenants_host(operator, tenant):  # noqa: F811
    confirm = operator.get(act(tenant, "support")).content.decode()
    assert "sessão de suporte de até 30 minutos" in confirm
    response = operator.post(act(tenant, "support"), {"confirmed": "yes"})
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("http://alpha.localhost/support/enter/?t=")
    client = host_client("alpha.localhost")
    entered = client.get(location.removeprefix("http://alpha.localhost"))
    assert entered.status_code == 302
    assert client.get("/").status_code == 200  # in, as the organization's support identity
    assert ("support.issue", f"operador {OPERATOR_EMAIL}") in audit_actions(tenant)
    again = host_client("alpha.localhost").get(location.removeprefix("http://alpha.localhost"))
    assert again.status_code == 403  # one time only
