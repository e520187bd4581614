"""Billing's e-mails: branded (a partner's clients in the partner's brand), in Portuguese
or English, to the organization's owners and admins only, each notice once."""

from __future__ import annotations

import pytest
from django.core import mail

from billing import services
from billing.models import BillingNotice, Invoice
from branding.services import brand_update
from tenants.services.billing_mail import billing_notice_send, billing_notices_send
from tests.billing.conftest import bill_from, closable_now, last_period
from tests.factories import make_organization, owner_email

pytestmark = pytest.mark.django_db


def close():
    services.period_close(period=last_period(), now=closable_now())


def test_invoice_issued_mail_goes_once_to_the_owner_with_the_link(tenant, other_tenant):
    bill_from(tenant)
    close()
    invoice = Invoice.objects.get(organization_id=tenant.pk)

    assert billing_notices_send() == {"sent": 1, "failed": 0}
    assert billing_notices_send() == {"sent": 0, "failed": 0}

    [message] = mail.outbox
    assert message.to == [owner_email(tenant.slug)]
    assert invoice.number in message.subject
    assert "R$ 497,00" in message.body
    assert f"http://{tenant.domains.get(is_primary=True).domain}/settings/plan/invoices/{invoice.pk}/" in message.body
    assert owner_email(other_tenant.slug) not in message.to
    assert BillingNotice.objects.get(invoice=invoice).recipients == [owner_email(tenant.slug)]


def test_english_mail(tenant):
    bill_from(tenant)
    close()
    notice = BillingNotice.objects.get(kind="invoice_issued")
    billing_notice_send(notice, language="en")
    body = mail.outbox[-1].body
    assert "R$497.00" in body and "was issued" in body


def test_a_partners_client_gets_the_partners_brand(db):
    partner = make_organization("zap-revenda", kind="partner", plan="white-label")
    brand_update(organization=partner, company_name="Zap Atende", email_sender_name="Zap Financeiro")
    client = make_organization("padaria-zap", parent=partner, plan="starter")
    bill_from(client)
    bill_from(partner)
    close()
    billing_notices_send()
    to_client = next(m for m in mail.outbox if m.to == [owner_email("padaria-zap")])
    assert to_client.subject.startswith("Zap Atende") and to_client.from_email.startswith("Zap Financeiro")
    assert "Orbit" not in to_client.body
    assert "Zap Atende" in to_client.body


def test_dunning_mails(tenant):
    import datetime as dt

    bill_from(tenant)
    close()
    invoice = Invoice.objects.get(organization_id=tenant.pk)
    services.dunning_advance(now=invoice.due_at + dt.timedelta(days=4))
    billing_notices_send()
    subjects = [m.subject for m in mail.outbox]
    assert any("lembrete" in s for s in subjects)
    assert any("será suspensa" in s for s in subjects)
    warning = next(m for m in mail.outbox if "será suspensa" in m.subject)
    assert services.suspension_date(invoice.organization.subscription).strftime("%d/%m/%Y") in warning.body


def test_a_failed_send_is_retried_and_not_lost(tenant, monkeypatch):
    bill_from(tenant)
    close()
    from django.core.mail.backends.locmem import EmailBackend

    def broken(self, messages):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailBackend, "send_messages", broken)
    assert billing_notices_send() == {"sent": 0, "failed": 1}
    monkeypatch.undo()
    assert billing_notices_send() == {"sent": 1, "failed": 0}
    assert BillingNotice.objects.get().attempts == 2
