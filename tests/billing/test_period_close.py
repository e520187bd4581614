"""The period close: one invoice per organization and period, priced from final meters,
numbered without gaps, idempotent; bad periods refused with nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import periods, services
from billing.models import BillingNotice, CreditEntry, Invoice, InvoiceLine, InvoiceSequence, Subscription
from tests.billing.conftest import bill_from, closable_now, final_meter, last_period

GB = 1024**3
pytestmark = pytest.mark.django_db


def close(**kwargs):
    return services.period_close(period=last_period(), now=closable_now(), **kwargs)


def test_base_fee_in_advance_and_overage_of_the_period(tenant):
    bill_from(tenant)
    final_meter(tenant, "conversation_started", 10_500)  # professional: 10,000 a month, R$ 0,20 each beyond
    final_meter(tenant, "storage_bytes", 27 * GB, last_value=20 * GB)  # 25 GB; peak 2 GB beyond, R$ 1,50 each
    final_meter(tenant, "agent_seat", 12, last_value=9)  # 10 seats; peak 2 beyond, R$ 49 each

    result = close()

    assert (result.created, result.existing, result.failed) == (1, 0, [])
    invoice = Invoice.objects.get(organization_id=tenant.pk)
    lines = {line.kind: line for line in invoice.lines.all()}
    assert lines["base"].amount == Decimal("497.00")
    following = periods.next_period(last_period())
    assert f"{following.month:02d}/{following.year}" in lines["base"].description
    assert lines["overage_conversations"].amount == Decimal("100.00")
    assert lines["overage_conversations"].quantity == 500
    assert lines["overage_storage"].amount == Decimal("3.00")
    assert lines["overage_seats"].amount == Decimal("98.00")
    assert invoice.subtotal == invoice.total == invoice.amount_due == Decimal("698.00")
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.number == "ORB-000001" and invoice.sequence == 1
    assert invoice.issuer == "platform" and invoice.customer_name == tenant.name
    assert invoice.due_at > invoice.issued_at
    assert BillingNotice.objects.filter(kind="invoice_issued", invoice=invoice).count() == 1
    # the term renewed: the next one is the current month
    subscription = Subscription.objects.get(organization_id=tenant.pk)
    assert subscription.current_period_start == periods.next_period(last_period())


def test_a_rerun_changes_nothing_and_numbers_have_no_gaps(tenant, other_tenant):
    bill_from(tenant)
    bill_from(other_tenant)
    first = close()
    assert first.created == 2
    rows = (Invoice.objects.count(), InvoiceLine.objects.count(), BillingNotice.objects.count())

    again = close()

    assert (again.created, again.existing) == (0, 2)
    assert (Invoice.objects.count(), InvoiceLine.objects.count(), BillingNotice.objects.count()) == rows
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2]
    assert InvoiceSequence.objects.get(issuer="platform").last_number == 2


def test_credit_is_drawn_before_charging_and_never_twice(tenant):
    bill_from(tenant)
    services.credit_grant(organization=tenant, amount="100,50", note="pré-pago")

    close()
    close()

    invoice = Invoice.objects.get(organization_id=tenant.pk)
    assert invoice.credit_applied == Decimal("100.50")
    assert invoice.amount_due == Decimal("396.50")
    assert services.credit_balance(organization_id=tenant.pk) == Decimal("0.00")
    assert CreditEntry.objects.filter(organization_id=tenant.pk, kind="use").count() == 1


def test_credit_larger_than_the_invoice_pays_it_and_the_rest_stays(tenant):
    bill_from(tenant)
    services.credit_grant(organization=tenant, amount=600)

    close()

    invoice = Invoice.objects.get(organization_id=tenant.pk)
    assert invoice.status == Invoice.Status.PAID and invoice.amount_due == 0
    assert services.credit_balance(organization_id=tenant.pk) == Decimal("103.00")
    assert not BillingNotice.objects.filter(invoice=invoice).exists()  # nothing to pay, nothing to announce


def test_add_ons_and_discounts_are_taken_once(tenant):
    bill_from(tenant)
    services.adjustment_add(organization=tenant, description="Número extra de WhatsApp", amount="50")
    services.adjustment_add(organization=tenant, description="Desconto de boas-vindas", amount="-20")
    Subscription.objects.filter(organization_id=tenant.pk).update(discount_percent=Decimal("10"))

    close()

    invoice = Invoice.objects.get(organization_id=tenant.pk)
    amounts = sorted(invoice.lines.values_list("kind", "amount"))
    assert amounts == [("adjustment", Decimal("-20.00")), ("adjustment", Decimal("50.00")),
                       ("base", Decimal("497.00")), ("discount", Decimal("-49.70"))]
    assert invoice.subtotal == Decimal("547.00") and invoice.discount_total == Decimal("69.70")
    assert invoice.total == Decimal("477.30")


def test_yearly_cycle_bills_the_year_once_with_its_discount(tenant):
    bill_from(tenant, cycle="yearly")

    close()

    line = Invoice.objects.get(organization_id=tenant.pk).lines.get(kind="base")
    assert line.amount == Decimal("4970.00")  # professional yearly
    subscription = Subscription.objects.get(organization_id=tenant.pk)
    assert subscription.current_period_end == periods.next_period(periods.next_period(last_period())).replace(
        year=subscription.current_period_start.year + 1, month=subscription.current_period_start.month)


def test_a_yearly_term_running_on_bills_only_overage(tenant):
    bill_from(tenant, cycle="yearly")
    Subscription.objects.filter(organization_id=tenant.pk).update(
        current_period_end=periods.next_period(periods.next_period(last_period())))
    final_meter(tenant, "conversation_started", 10_001)

    close()

    kinds = list(Invoice.objects.get(organization_id=tenant.pk).lines.values_list("kind", flat=True))
    assert kinds == ["overage_conversations"]


def test_trial_ending_inside_the_next_month_is_charged_from_its_end(tenant):
    import datetime as dt

    bill_from(tenant)
    following = periods.next_period(last_period())
    trial_end = periods.start(following) + dt.timedelta(days=10)
    Subscription.objects.filter(organization_id=tenant.pk).update(status="trialing", trial_ends_at=trial_end)

    close()

    line = Invoice.objects.get(organization_id=tenant.pk).lines.get(kind="base")
    days = (periods.end(following) - trial_end).days
    expected = (Decimal("497.00") * days / ((periods.end(following) - periods.start(following)).days)).quantize(
        Decimal("0.01"))
    assert line.amount == expected
    assert "(após o teste)" in line.description


def test_cancel_at_period_end_bills_no_new_term_and_ends_the_subscription(tenant):
    bill_from(tenant)
    services.subscription_cancel(organization=tenant)
    final_meter(tenant, "conversation_started", 10_010)

    close()

    invoice = Invoice.objects.get(organization_id=tenant.pk)
    assert list(invoice.lines.values_list("kind", flat=True)) == ["overage_conversations"]
    assert Subscription.objects.get(organization_id=tenant.pk).status == "cancelled"
    tenant.refresh_from_db()
    assert tenant.status == "cancelled"


def test_a_new_organization_is_not_billed_for_a_period_it_did_not_exist_in(tenant):
    from django.utils import timezone

    from tenants.models import Organization

    Organization.objects.filter(pk=tenant.pk).update(created_at=timezone.now())  # it did not exist last month
    assert close().created == 0
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("label, message", [
    ("future", "ainda não começou"),
    ("open", "ainda está aberto"),
])
def test_periods_that_cannot_be_closed_are_refused_and_nothing_is_written(tenant, label, message):
    from django.utils import timezone

    bill_from(tenant)
    current = periods.period_of(timezone.now())
    period = periods.next_period(current) if label == "future" else current
    with pytest.raises(services.BillingError, match=message):
        services.period_close(period=period)
    assert not Invoice.objects.exists()


def test_a_period_in_its_grace_window_is_refused(tenant):
    import datetime as dt

    bill_from(tenant)
    inside_grace = periods.end(last_period()) + dt.timedelta(minutes=5)
    with pytest.raises(services.BillingError, match="carência"):
        services.period_close(period=last_period(), now=inside_grace)
    assert not Invoice.objects.exists()


def test_invoice_preview_writes_nothing(tenant):
    bill_from(tenant)
    draft = services.invoice_preview(organization=tenant, period=last_period(), now=closable_now())
    assert draft.total == Decimal("497.00")
    assert not Invoice.objects.exists()
    assert Subscription.objects.get(organization_id=tenant.pk).current_period_start == last_period()


def test_one_tenants_close_never_touches_anothers_invoice_or_credit(tenant, other_tenant):
    bill_from(tenant)
    bill_from(other_tenant)
    services.credit_grant(organization=other_tenant, amount=10)

    services.period_close(period=last_period(), now=closable_now(), organization_ids=[tenant.pk])

    assert list(Invoice.objects.values_list("organization_id", flat=True)) == [tenant.pk]
    assert services.credit_balance(organization_id=other_tenant.pk) == Decimal("10.00")
