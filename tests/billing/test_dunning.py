"""Getting paid: dunning past_due → grace → suspended through the tenant's status, and
payment bringing it back at once; void, credit notes, bad amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from billing import services
from billing.models import BillingNotice, CreditEntry, Invoice, Subscription
from tests.billing.conftest import bill_from, closable_now, last_period
from tests.conftest import host_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(tenant):
    bill_from(tenant)
    services.period_close(period=last_period(), now=closable_now())
    return Invoice.objects.get(organization_id=tenant.pk)


@pytest.fixture
def operator():
    return get_user_model()(email="op@orbit.localhost", is_staff=True)


def statuses(org):
    org.refresh_from_db()
    return Subscription.objects.get(organization_id=org.pk).status, org.status


def test_unpaid_invoice_runs_past_due_then_grace_then_suspension_and_payment_restores(tenant, invoice):
    due = invoice.due_at
    assert services.dunning_advance(now=due - dt.timedelta(hours=1))["past_due"] == 0

    services.dunning_advance(now=due + dt.timedelta(days=1))
    assert statuses(tenant) == ("past_due", "past_due")
    assert BillingNotice.objects.filter(kind="payment_reminder", invoice=invoice).count() == 1

    services.dunning_advance(now=due + dt.timedelta(days=3, hours=1))
    assert statuses(tenant) == ("grace", "past_due")
    assert BillingNotice.objects.filter(kind="suspension_warning", organization_id=tenant.pk).count() == 1

    services.dunning_advance(now=due + dt.timedelta(days=10, hours=1))
    assert statuses(tenant) == ("suspended", "suspended")
    assert BillingNotice.objects.filter(kind="suspended", organization_id=tenant.pk).count() == 1
    page = host_client(tenant.domains.get(is_primary=True).domain).get("/")
    assert page.status_code == 403 and "Conta suspensa" in page.content.decode()

    # every step once: running the clock again sends nothing new
    before = BillingNotice.objects.count()
    services.dunning_advance(now=due + dt.timedelta(days=10, hours=2))
    assert BillingNotice.objects.count() == before

    services.invoice_mark_paid(invoice=invoice, reference="pix-123")
    assert statuses(tenant) == ("active", "active")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.payment_reference == "pix-123"


def test_a_refused_charge_makes_the_subscription_past_due_once(tenant, invoice):
    services.invoice_payment_failed(invoice=invoice, reason="card_declined")
    services.invoice_payment_failed(invoice=invoice, reason="card_declined")
    assert statuses(tenant) == ("past_due", "past_due")
    assert BillingNotice.objects.filter(kind="payment_failed", invoice=invoice).count() == 1


def test_a_failure_reported_after_the_payment_does_not_unpay(tenant, invoice):
    services.invoice_mark_paid(invoice=invoice, reference="ch_1")
    services.invoice_payment_failed(invoice=invoice, reason="late event")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert statuses(tenant) == ("active", "active")


def test_mark_paid_twice_is_one_payment(tenant, invoice):
    first = services.invoice_mark_paid(invoice=invoice, reference="a")
    second = services.invoice_mark_paid(invoice=invoice, reference="b")
    assert first.paid_at == second.paid_at and second.payment_reference == "a"


def test_operator_suspension_is_not_lifted_by_a_payment(tenant, invoice):
    from tenants.services import organization_suspend

    organization_suspend(organization=tenant)
    services.invoice_mark_paid(invoice=invoice)
    assert statuses(tenant) == ("active", "suspended")


def test_void_gives_drawn_credit_back_and_keeps_the_number(tenant, operator):
    bill_from(tenant)
    services.credit_grant(organization=tenant, amount=97)
    services.period_close(period=last_period(), now=closable_now())
    invoice = Invoice.objects.get(organization_id=tenant.pk)
    assert invoice.credit_applied == Decimal("97.00")

    services.invoice_void(invoice=invoice, actor=operator, reason="erro de cadastro")

    invoice.refresh_from_db()
    assert invoice.status == "void" and invoice.number == "ORB-000001"
    assert services.credit_balance(organization_id=tenant.pk) == Decimal("97.00")
    with pytest.raises(services.BillingError):
        services.invoice_void(invoice=invoice, actor=operator)


def test_credit_note_against_a_paid_invoice_becomes_credit(tenant, invoice, operator):
    services.invoice_mark_paid(invoice=invoice)
    note = services.credit_note_issue(invoice=invoice, amount="97", reason="instabilidade", actor=operator)
    assert note.kind == "credit_note" and note.number == "ORB-000002" and note.total == Decimal("97.00")
    assert note.credits_invoice_id == invoice.pk
    assert services.credit_balance(organization_id=tenant.pk) == Decimal("97.00")
    with pytest.raises(services.BillingError, match="excede"):
        services.credit_note_issue(invoice=invoice, amount="401", reason="demais", actor=operator)
    assert Invoice.objects.filter(kind="credit_note").count() == 1


@pytest.mark.parametrize("amount", ["-10", "0", "abc", "NaN", "1e400", None])
def test_bad_credit_amounts_are_refused_and_nothing_is_written(tenant, operator, amount):
    with pytest.raises(services.BillingError):
        services.credit_grant(organization=tenant, amount=amount, actor=operator)
    assert not CreditEntry.objects.exists()


def test_another_tenants_payment_does_not_touch_this_one(tenant, other_tenant, invoice):
    bill_from(other_tenant)
    services.period_close(period=last_period(), now=closable_now())
    theirs = Invoice.objects.get(organization_id=other_tenant.pk)
    services.dunning_advance(now=invoice.due_at + dt.timedelta(days=11))
    assert statuses(tenant)[0] == statuses(other_tenant)[0] == "suspended"

    services.invoice_mark_paid(invoice=theirs)

    assert statuses(other_tenant) == ("active", "active")
    assert statuses(tenant) == ("suspended", "suspended")


def test_a_tenant_suspended_for_non_payment_can_still_reach_the_plan_page(tenant, invoice, django_capture_on_commit_callbacks):
    from tests.factories import logged_in, owner_email

    with django_capture_on_commit_callbacks(execute=True):
        services.dunning_advance(now=invoice.due_at + dt.timedelta(days=11))
    assert statuses(tenant) == ("suspended", "suspended")
    host = tenant.domains.get(is_primary=True).domain
    home = host_client(host).get("/")
    assert home.status_code == 403 and "Pagar a fatura" in home.content.decode()
    owner = logged_in(host, owner_email(tenant.slug))
    assert owner.get("/inbox/").status_code == 403  # the product stays closed
    page = owner.get("/settings/plan/")
    assert page.status_code == 200 and invoice.number in page.content.decode()
    assert owner.get(f"/settings/plan/invoices/{invoice.pk}/").status_code == 200


def test_a_tenant_the_operator_suspended_stays_closed_even_to_the_plan_page(tenant, django_capture_on_commit_callbacks):
    from tenants.services import organization_suspend

    with django_capture_on_commit_callbacks(execute=True):
        organization_suspend(organization=tenant)
    host = tenant.domains.get(is_primary=True).domain
    response = host_client(host).get("/settings/plan/")
    assert response.status_code == 403 and "Pagar a fatura" not in response.content.decode()
