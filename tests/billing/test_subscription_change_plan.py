"""Plan changes: upgrade now with a prorated invoice, downgrade at the end of the term
(refused above the new limits), cycle changes, cancel/resume, the operator's price."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from billing import limits, metrics, periods, pricing, services
from billing.models import Invoice, Subscription
from tests.billing.conftest import bill_from, closable_now, last_period

pytestmark = pytest.mark.django_db


def subscription(org) -> Subscription:
    return Subscription.objects.select_related("plan", "scheduled_plan").get(organization_id=org.pk)


def test_new_organizations_start_with_a_subscription_on_their_plan(tenant):
    sub = subscription(tenant)
    assert sub.plan_id == tenant.plan_id
    assert sub.status == "active" and sub.cycle == "monthly"
    assert sub.next_billing_date == periods.next_period(periods.period_of(timezone.now()))


def test_upgrade_applies_at_once_with_a_prorated_invoice(tenant):
    now = timezone.now()
    change = services.subscription_change_plan(organization=tenant, plan="business", now=now)

    assert change.kind == "upgrade" and change.effective == "now"
    sub = subscription(tenant)
    expected, days_left, days = pricing.proration(old_price=Decimal("497"), new_price=Decimal("997"),
                                                  term_start=sub.current_period_start,
                                                  term_end=sub.current_period_end, now=now)
    assert change.charge_now == expected > 0
    tenant.refresh_from_db()
    assert tenant.plan.code == "business" and subscription(tenant).plan.code == "business"
    assert limits.check(tenant, metrics.CONVERSATION_STARTED).limit == 50_000  # the new limits, at once
    invoice = Invoice.objects.get(organization_id=tenant.pk, kind="proration")
    assert invoice.amount_due == expected and invoice.status == "open" and invoice.number == "ORB-000001"
    assert f"{days_left} de {days} dias" in invoice.lines.get().description
    with schema_context(tenant.schema_name):
        assert AuditEntry.objects.filter(action="billing.plan.upgrade").count() == 1


def test_proration_is_the_price_difference_for_the_days_left():
    moment = timezone.make_aware(dt.datetime(2026, 11, 21, 10, 0))  # 10 of 30 days left, the 21st included
    amount, days_left, days = pricing.proration(old_price=Decimal("197"), new_price=Decimal("497"),
                                                term_start=dt.date(2026, 11, 1), term_end=dt.date(2026, 12, 1),
                                                now=moment)
    assert (days_left, days) == (10, 30)
    assert amount == Decimal("100.00")


def test_a_yearly_upgrade_is_prorated_over_the_rest_of_the_year():
    moment = timezone.make_aware(dt.datetime(2026, 7, 2, 9, 0))  # 183 of 365 days left
    amount, days_left, days = pricing.proration(old_price=Decimal("4970"), new_price=Decimal("9970"),
                                                term_start=dt.date(2026, 1, 1), term_end=dt.date(2027, 1, 1),
                                                now=moment)
    assert (days_left, days) == (183, 365)
    assert amount == Decimal("2506.85")


def test_an_upgrade_during_the_trial_charges_nothing(tenant):
    Subscription.objects.filter(organization_id=tenant.pk).update(
        status="trialing", trial_ends_at=timezone.now() + dt.timedelta(days=5))
    change = services.subscription_change_plan(organization=tenant, plan="business")
    assert change.kind == "upgrade" and change.charge_now == 0
    assert subscription(tenant).plan.code == "business"
    assert not Invoice.objects.exists()


def test_an_upgrade_drops_the_contract_price_of_the_plan_left_behind(tenant):
    operator = get_user_model()(email="op@orbit.localhost", is_staff=True)
    services.subscription_set_price_override(organization=tenant, price="300", actor=operator)
    change = services.subscription_change_plan(organization=tenant, plan="business")
    assert change.charge_now > 0  # from the contract's 300 to Business's 997
    assert subscription(tenant).price_override is None


def test_downgrade_waits_for_the_end_of_the_term(tenant):
    change = services.subscription_change_plan(organization=tenant, plan="starter")

    assert change.kind == "downgrade" and change.effective == "period_end"
    sub = subscription(tenant)
    assert sub.plan.code == "professional" and sub.scheduled_plan.code == "starter"
    assert not Invoice.objects.exists()


def test_scheduled_downgrade_takes_effect_when_the_term_renews(tenant):
    bill_from(tenant)
    services.subscription_change_plan(organization=tenant, plan="starter")

    services.period_close(period=last_period(), now=closable_now())

    base = Invoice.objects.get(organization_id=tenant.pk).lines.get(kind="base")
    assert base.amount == Decimal("197.00") and "Starter" in base.description
    tenant.refresh_from_db()
    assert tenant.plan.code == "starter" and subscription(tenant).scheduled_plan is None


def test_downgrade_is_refused_while_agents_exceed_the_new_plan(tenant):
    with schema_context(tenant.schema_name):
        for n in range(3):  # the owner + 3 agents = 4 seats; Starter allows 3
            get_user_model().objects.create_user(f"a{n}@alpha.example.com", "x-senha-forte", role="agent")

    preview = services.plan_change_preview(organization=tenant, plan="starter")
    assert not preview.allowed and "3 agentes" in preview.refusals[0] and "4 ativos" in preview.refusals[0]
    with pytest.raises(services.BillingError, match="desative 1"):
        services.subscription_change_plan(organization=tenant, plan="starter")
    assert subscription(tenant).scheduled_plan is None


def test_choosing_the_current_plan_cancels_a_scheduled_change(tenant):
    services.subscription_change_plan(organization=tenant, plan="starter")
    change = services.subscription_change_plan(organization=tenant, plan="professional")
    assert change.kind == "cancel_scheduled"
    assert subscription(tenant).scheduled_plan is None


def test_cycle_change_waits_for_the_end_of_the_term(tenant):
    change = services.subscription_change_plan(organization=tenant, plan="professional", cycle="yearly")
    assert change.kind == "cycle"
    assert subscription(tenant).scheduled_cycle == "yearly" and subscription(tenant).cycle == "monthly"


@pytest.mark.parametrize("plan, cycle, message", [
    ("platinum", None, "Plano desconhecido"),
    ("enterprise", None, "sob consulta"),
    ("business", "weekly", "Ciclo inválido"),
])
def test_bad_changes_are_refused_and_nothing_changes(tenant, plan, cycle, message):
    with pytest.raises(services.BillingError, match=message):
        services.subscription_change_plan(organization=tenant, plan=plan, cycle=cycle)
    sub = subscription(tenant)
    assert (sub.plan.code, sub.cycle, sub.scheduled_plan_id) == ("professional", "monthly", None)
    assert not Invoice.objects.exists()


def test_cancel_and_resume(tenant):
    services.subscription_cancel(organization=tenant)
    assert subscription(tenant).cancel_at_period_end
    services.subscription_resume(organization=tenant)
    assert not subscription(tenant).cancel_at_period_end
    with pytest.raises(services.BillingError, match="não está marcada"):
        services.subscription_resume(organization=tenant)


def test_only_an_operator_sets_a_contract_price(tenant):
    with schema_context(tenant.schema_name):
        owner = get_user_model().objects.get(role="owner")
    with pytest.raises(services.BillingError, match="operador"):
        services.subscription_set_price_override(organization=tenant, price="100", actor=owner)
    operator = get_user_model()(email="op@orbit.localhost", is_staff=True)
    services.subscription_set_price_override(organization=tenant, price="1500,00", actor=operator)
    assert subscription(tenant).price_override == Decimal("1500.00")
    with pytest.raises(services.BillingError):
        services.subscription_set_price_override(organization=tenant, price="-5", actor=operator)
    assert subscription(tenant).price_override == Decimal("1500.00")


def test_contract_price_replaces_the_list_price_on_the_invoice(tenant):
    bill_from(tenant)
    operator = get_user_model()(email="op@orbit.localhost", is_staff=True)
    services.subscription_set_price_override(organization=tenant, price="350", actor=operator)

    services.period_close(period=last_period(), now=closable_now())

    assert Invoice.objects.get(organization_id=tenant.pk).lines.get(kind="base").amount == Decimal("350.00")


def test_trials_end_into_active_with_a_notice_three_days_before(tenant):
    from billing.models import BillingNotice

    Subscription.objects.filter(organization_id=tenant.pk).update(
        status="trialing", trial_ends_at=timezone.now() + dt.timedelta(days=2))
    tenant.__class__.objects.filter(pk=tenant.pk).update(status="trial")

    assert services.subscriptions_advance()["trial_notices"] == 1
    assert services.subscriptions_advance()["trial_notices"] == 0  # once
    assert BillingNotice.objects.filter(kind="trial_ending", organization_id=tenant.pk).count() == 1

    done = services.subscriptions_advance(now=timezone.now() + dt.timedelta(days=3))
    assert done["trials_ended"] == 1
    tenant.refresh_from_db()
    assert subscription(tenant).status == "active" and tenant.status == "active"
