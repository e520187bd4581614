"""Organizations become Stripe customers on first need; Orbit's plans become Stripe's catalogue.
Against a real localstripe server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import Plan, Subscription
from billing.stripe import catalogue
from billing.stripe.client import StripeOff
from billing.stripe.customers import customer_ensure, payment_method_summary
from tests.factories import owner_email

pytestmark = pytest.mark.usefixtures("db")


def test_an_organization_becomes_a_customer_once_and_keeps_it(stripe_on, tenant):
    customer_id = customer_ensure(organization=tenant)

    assert customer_id.startswith("cus_")
    assert Subscription.objects.get(organization_id=tenant.pk).stripe_customer_id == customer_id
    assert customer_ensure(organization=tenant) == customer_id  # kept: no second customer
    customers = stripe_on.request("GET", "/v1/customers")["data"]
    assert [c["id"] for c in customers] == [customer_id]
    assert customers[0]["name"] == tenant.name
    assert customers[0]["email"] == owner_email(tenant.slug)
    assert customers[0]["metadata"]["organization"] == str(tenant.pk)


def test_each_organization_is_its_own_customer(stripe_on, tenant, other_tenant):
    first, second = customer_ensure(organization=tenant), customer_ensure(organization=other_tenant)

    assert first != second
    assert Subscription.objects.get(organization_id=other_tenant.pk).stripe_customer_id == second
    by_id = {c["id"]: c for c in stripe_on.request("GET", "/v1/customers")["data"]}
    assert by_id[second]["metadata"]["organization"] == str(other_tenant.pk)
    assert by_id[second]["email"] == owner_email(other_tenant.slug)


def test_without_a_key_nothing_is_asked_of_stripe(settings, localstripe, tenant):
    localstripe.flush()
    settings.ORBIT_STRIPE_SECRET_KEY = ""

    with pytest.raises(StripeOff):
        customer_ensure(organization=tenant)
    assert localstripe.request("GET", "/v1/customers")["data"] == []
    assert Subscription.objects.get(organization_id=tenant.pk).stripe_customer_id == ""


def test_plans_become_products_and_fixed_id_plans(stripe_on):
    result = catalogue.plans_sync()

    products = {p["id"]: p for p in stripe_on.request("GET", "/v1/products?limit=100")["data"]}
    plans = {p["id"]: p for p in stripe_on.request("GET", "/v1/plans?limit=100")["data"]}
    assert set(products) == {f"orbit-{code}" for code in Plan.objects.values_list("code", flat=True)}
    assert products["orbit-professional"]["name"] == "Professional"
    monthly = plans["orbit-professional-month-49700"]
    assert (monthly["amount"], monthly["currency"], monthly["interval"], monthly["product"]) == (
        49700, "brl", "month", "orbit-professional")
    assert plans["orbit-professional-year-497000"]["interval"] == "year"
    # priced on request: a product, no price
    assert "orbit-enterprise" in products and not [p for p in plans.values() if p["product"] == "orbit-enterprise"]
    assert sorted(result.plans_created) == sorted(plans)

    again = catalogue.plans_sync()  # idempotent
    assert again.plans_created == [] and again.plans_deactivated == []
    assert len(stripe_on.request("GET", "/v1/plans?limit=100")["data"]) == len(plans)


def test_a_new_price_is_a_new_plan_and_the_old_one_stops_selling(stripe_on):
    catalogue.plans_sync()
    Plan.objects.filter(code="starter").update(price_monthly=Decimal("217.00"))

    result = catalogue.plans_sync()

    assert result.plans_created == ["orbit-starter-month-21700"]
    assert result.plans_deactivated == ["orbit-starter-month-19700"]
    selling = stripe_on.request("GET", "/v1/plans?product=orbit-starter&active=true")["data"]
    assert sorted((p["id"], p["amount"]) for p in selling) == [
        ("orbit-starter-month-21700", 21700), ("orbit-starter-year-197000", 197000)]


@pytest.mark.parametrize(("method", "summary"), [
    ({"type": "card", "card": {"brand": "visa", "last4": "4242"}}, "Visa •••• 4242"),
    ({"type": "card", "card": {"brand": "mastercard", "last4": "4444"}}, "Mastercard •••• 4444"),
    ({"type": "card", "card": {"brand": "elo", "last4": "0001"}}, "Elo •••• 0001"),
    ({"type": "boleto", "boleto": {"tax_id": "***"}}, "Boleto"),
    ({"type": "pix"}, "Pix"),
])
def test_payment_method_summary(method, summary):
    assert payment_method_summary(method) == summary
