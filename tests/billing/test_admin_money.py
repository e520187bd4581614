"""The operator's money admin: every action behind a confirmation page, through a
service, audited in the organization's log with the operator's name; nobody else gets in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from billing import services
from billing.models import CreditEntry, Invoice, Subscription
from tests.billing.conftest import bill_from, closable_now, last_period
from tests.conftest import host_client
from tests.factories import logged_in, owner_email
from tests.tenants.test_admin import OPERATOR_EMAIL, operator  # noqa: F401

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/billing/invoice/"


@pytest.fixture
def invoice(tenant):
    bill_from(tenant)
    services.period_close(period=last_period(), now=closable_now())
    return Invoice.objects.get(organization_id=tenant.pk)


def test_mark_paid_asks_first_then_pays_and_audits(operator, invoice, tenant):  # noqa: F811
    ask = operator.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [invoice.pk]})
    assert ask.status_code == 200
    page = ask.content.decode()
    assert "O que vai acontecer" in page and invoice.number in page
    invoice.refresh_from_db()
    assert invoice.status == "open"  # nothing yet

    done = operator.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [invoice.pk], "confirmed": "yes"})
    assert done.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.payment_reference == "manual"
    with schema_context(tenant.schema_name):
        entry = AuditEntry.objects.get(action="billing.invoice.paid")
        assert entry.actor_email == OPERATOR_EMAIL and "operador" in entry.actor_label


def test_void_refused_for_a_paid_invoice_is_a_message_not_an_error(operator, invoice):  # noqa: F811
    services.invoice_mark_paid(invoice=invoice)
    response = operator.post(CHANGELIST, {"action": "void", "_selected_action": [invoice.pk], "confirmed": "yes"},
                             follow=True)
    assert response.status_code == 200 and "Só uma fatura em aberto pode ser anulada" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_credit_note_page(operator, invoice, tenant):  # noqa: F811
    services.invoice_mark_paid(invoice=invoice)
    url = f"/admin/billing/invoice/{invoice.pk}/credit-note/"
    bad = operator.post(url, {"amount": "9999", "reason": "teste"})
    assert bad.status_code == 200 and "excede" in bad.content.decode()
    assert not Invoice.objects.filter(kind="credit_note").exists()
    good = operator.post(url, {"amount": "50,00", "reason": "instabilidade"})
    assert good.status_code == 302
    assert services.credit_balance(organization_id=tenant.pk) == Decimal("50.00")


def test_invoice_pdf_and_pages_render(operator, invoice):  # noqa: F811
    assert operator.get(CHANGELIST).status_code == 200
    assert operator.get(f"{CHANGELIST}{invoice.pk}/change/").status_code == 200
    pdf = operator.get(f"{CHANGELIST}{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    for path in ("/admin/billing/subscription/", "/admin/billing/creditentry/", "/admin/billing/creditentry/add/",
                 "/admin/billing/adjustment/add/", "/admin/billing/billingnotice/", "/admin/billing/partnerpricing/"):
        assert operator.get(path).status_code == 200, path


def test_credit_grant_form_refuses_bad_amounts(operator, tenant):  # noqa: F811
    for amount in ("-5", "0", "abc", "\x00"):
        response = operator.post("/admin/billing/creditentry/add/", {"organization": tenant.pk, "amount": amount,
                                                                     "note": "x"})
        assert response.status_code == 200, amount
    assert not CreditEntry.objects.exists()
    response = operator.post("/admin/billing/creditentry/add/", {"organization": tenant.pk, "amount": "25,5",
                                                                 "note": "boas-vindas"})
    assert response.status_code == 302
    assert services.credit_balance(organization_id=tenant.pk) == Decimal("25.50")


def test_contract_price_through_the_admin_is_audited(operator, tenant):  # noqa: F811
    subscription = Subscription.objects.get(organization_id=tenant.pk)
    response = operator.post(f"/admin/billing/subscription/{subscription.pk}/change/", {"price_override": "1200.00"})
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.price_override == Decimal("1200.00")
    with schema_context(tenant.schema_name):
        assert AuditEntry.objects.filter(action="billing.price_override", actor_email=OPERATOR_EMAIL).exists()


def test_tenant_admins_never_reach_the_money_admin(tenant, invoice):
    owner = logged_in(tenant.domains.get(is_primary=True).domain, owner_email(tenant.slug))
    assert owner.get(f"{CHANGELIST}").status_code == 404
    platform = host_client("localhost")
    response = platform.get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert platform.post(CHANGELIST, {"action": "mark_paid", "_selected_action": [invoice.pk],
                                      "confirmed": "yes"}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "open"
