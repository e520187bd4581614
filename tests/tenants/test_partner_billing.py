"""The partner console manages its clients' subscriptions and shows the invoices it issued
them; another partner reaches none of it."""

from __future__ import annotations

import pytest

from billing import services
from billing.models import Invoice, Subscription
from tests.billing.conftest import bill_from, closable_now, last_period
from tests.branding.conftest import two_partners  # noqa: F401
from tests.factories import logged_in, owner_email

pytestmark = pytest.mark.django_db


def test_partner_changes_a_clients_plan_and_reads_its_invoices(two_partners):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    bill_from(padaria)
    services.period_close(period=last_period(), now=closable_now(), organization_ids=[padaria.pk])
    invoice = Invoice.objects.get(organization_id=padaria.pk)
    assert invoice.issuer == f"org:{zap.pk}"
    partner = logged_in("zap.localhost", owner_email("zap"))

    page = partner.get("/clients/padaria/").content.decode()
    assert 'data-plan="professional"' in page and invoice.number in page
    assert partner.get(f"/settings/plan/invoices/{invoice.pk}/").status_code == 200
    assert partner.get(f"/settings/plan/invoices/{invoice.pk}/pdf/").status_code == 200

    response = partner.post("/clients/padaria/plan/", {"plan": "business"}, follow=True)
    assert "agora está no plano Business" in response.content.decode()
    padaria.refresh_from_db()
    assert padaria.plan.code == "business"

    response = partner.post("/clients/padaria/plan/", {"plan": "platinum"}, follow=True)
    assert "Plano desconhecido" in response.content.decode()
    assert Subscription.objects.get(organization_id=padaria.pk).plan.code == "business"


def test_another_partner_reaches_nothing(two_partners):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    bill_from(padaria)
    services.period_close(period=last_period(), now=closable_now(), organization_ids=[padaria.pk])
    invoice = Invoice.objects.get(organization_id=padaria.pk)
    other = logged_in("nuvem.localhost", owner_email("nuvem"))
    assert other.get("/clients/padaria/").status_code == 404
    assert other.post("/clients/padaria/plan/", {"plan": "business"}).status_code == 404
    assert other.get(f"/settings/plan/invoices/{invoice.pk}/").status_code == 404
    assert Subscription.objects.get(organization_id=padaria.pk).plan.code == "professional"
    # a client never reads the partner's own (wholesale) invoices either
    bill_from(zap)
    services.period_close(period=last_period(), now=closable_now(), organization_ids=[zap.pk])
    wholesale = Invoice.objects.get(organization_id=zap.pk)
    client = logged_in("padaria.localhost", owner_email("padaria"))
    assert client.get(f"/settings/plan/invoices/{wholesale.pk}/").status_code == 404
