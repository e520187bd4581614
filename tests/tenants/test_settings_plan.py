"""/settings/plan/: the tenant's self-service subscription page, its change flow, cancel
and resume, and invoices (HTML and PDF) that only their own organization can read."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from billing import services
from billing.models import Invoice, Subscription
from tests.billing.conftest import bill_from, closable_now, last_period
from tests.conftest import host_client
from tests.factories import logged_in, owner_email

pytestmark = pytest.mark.django_db


def host(org) -> str:
    return org.domains.get(is_primary=True).domain


def owner_of(org, language: str = "pt-br") -> Client:
    client = logged_in(host(org), owner_email(org.slug))
    client.cookies["django_language"] = language
    return client


@pytest.fixture
def invoiced(tenant):
    bill_from(tenant)
    services.period_close(period=last_period(), now=closable_now())
    return Invoice.objects.get(organization_id=tenant.pk)


def test_plan_page_shows_plan_prices_usage_and_invoices_in_portuguese(tenant, invoiced):
    page = owner_of(tenant).get("/settings/plan/").content.decode()
    assert 'data-plan="professional"' in page and "R$ 497,00 / mês" in page
    assert "R$ 997,00" in page  # the Business option
    assert invoiced.number in page and f"/settings/plan/invoices/{invoiced.pk}/pdf/" in page
    assert 'data-credit="0.00"' in page  # machine values are never localized
    assert 'data-metric="conversation_started"' in page


def test_plan_page_in_english_formats_money_for_english(tenant, invoiced):
    page = owner_of(tenant, "en").get("/settings/plan/").content.decode()
    assert "R$497.00" in page and "Your plan" in page


def test_empty_state_without_invoices(tenant):
    page = owner_of(tenant).get("/settings/plan/").content.decode()
    assert "Nenhuma fatura ainda" in page


def test_upgrade_preview_then_confirm(tenant):
    owner = owner_of(tenant)
    preview = owner.get("/settings/plan/change/?plan=business&cycle=monthly").content.decode()
    assert "Cobrança agora" in preview and "R$ " in preview and 'name="plan" value="business"' in preview
    assert Subscription.objects.get(organization_id=tenant.pk).plan.code == "professional"  # a preview only

    response = owner.post("/settings/plan/change/", {"plan": "business", "cycle": "monthly"})

    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.plan.code == "business"
    proration = Invoice.objects.get(organization_id=tenant.pk, kind="proration")
    page = owner.get("/settings/plan/").content.decode()
    assert "Plano alterado para Business" in page and proration.number in page


def test_downgrade_refused_shows_the_reason_and_changes_nothing(tenant):
    with schema_context(tenant.schema_name):
        for n in range(3):
            get_user_model().objects.create_user(f"a{n}@alpha.example.com", "x-senha-forte", role="agent")
    owner = owner_of(tenant)
    preview = owner.get("/settings/plan/change/?plan=starter").content.decode()
    assert "não pode ser feita agora" in preview and "desative 1" in preview and "Confirmar" not in preview
    response = owner.post("/settings/plan/change/", {"plan": "starter"}, follow=True)
    assert "desative 1" in response.content.decode()
    assert Subscription.objects.get(organization_id=tenant.pk).scheduled_plan is None


@pytest.mark.parametrize("query", ["plan=platinum", "plan=business&cycle=weekly", "plan=%00", "plan="])
def test_bad_change_requests_are_a_clear_message_not_an_error(tenant, query):
    response = owner_of(tenant).get(f"/settings/plan/change/?{query}", follow=True)
    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    assert Subscription.objects.get(organization_id=tenant.pk).plan.code == "professional"


def test_cancel_and_resume_by_post_only(tenant):
    owner = owner_of(tenant)
    assert owner.get("/settings/plan/cancel/").status_code == 405
    owner.post("/settings/plan/cancel/")
    assert Subscription.objects.get(organization_id=tenant.pk).cancel_at_period_end
    assert "Manter a assinatura" in owner.get("/settings/plan/").content.decode()
    owner.post("/settings/plan/resume/")
    assert not Subscription.objects.get(organization_id=tenant.pk).cancel_at_period_end


def test_changes_need_the_csrf_token(tenant):
    owner = logged_in(host(tenant), owner_email(tenant.slug))
    strict = Client(HTTP_HOST=host(tenant), enforce_csrf_checks=True)
    strict.cookies = copy.deepcopy(owner.cookies)
    assert strict.post("/settings/plan/cancel/").status_code == 403
    assert not Subscription.objects.get(organization_id=tenant.pk).cancel_at_period_end


def test_invoice_page_and_pdf(tenant, invoiced):
    owner = owner_of(tenant)
    page = owner.get(f"/settings/plan/invoices/{invoiced.pk}/").content.decode()
    assert invoiced.number in page and "R$ 497,00" in page and 'data-amount-due="497.00"' in page
    pdf = owner.get(f"/settings/plan/invoices/{invoiced.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
    assert f'filename="{invoiced.number}.pdf"' in pdf["Content-Disposition"]


def test_another_tenant_never_reads_the_invoice(tenant, other_tenant, invoiced):
    theirs = owner_of(other_tenant)
    for path in (f"/settings/plan/invoices/{invoiced.pk}/", f"/settings/plan/invoices/{invoiced.pk}/pdf/"):
        assert theirs.get(path).status_code == 404, path
        # their session is worth nothing on this tenant's host
        stolen = Client(HTTP_HOST=host(tenant))
        stolen.cookies = copy.deepcopy(theirs.cookies)
        response = stolen.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert invoiced.number not in theirs.get("/settings/plan/").content.decode()


def test_agents_and_anonymous_visitors_never_reach_billing(tenant, invoiced):
    with schema_context(tenant.schema_name):
        get_user_model().objects.create_user("agente@alpha.example.com", "x-senha-forte", role="agent")
    agent = logged_in(host(tenant), "agente@alpha.example.com", "x-senha-forte")
    for path in ("/settings/plan/", f"/settings/plan/invoices/{invoiced.pk}/", "/settings/plan/change/?plan=business"):
        assert agent.get(path).status_code == 404, path
    assert agent.post("/settings/plan/cancel/").status_code == 404
    assert host_client(host(tenant)).get("/settings/plan/").status_code == 302
    assert not Subscription.objects.get(organization_id=tenant.pk).cancel_at_period_end
    assert Decimal(invoiced.amount_due) == Decimal("497.00")


def test_without_stripe_there_is_no_online_payment_button_and_the_endpoint_says_so(tenant):
    owner = owner_of(tenant)
    assert "Cadastrar cartão" not in owner.get("/settings/plan/").content.decode()
    response = owner.post("/settings/plan/payment-method/", {"where": "checkout"}, follow=True)
    assert "Pagamento online indisponível" in response.content.decode()
    assert owner.get("/settings/plan/payment-method/").status_code == 405
