"""The plan page's Stripe buttons: with Stripe on, "save a card" goes to Checkout and, once a
card is on file, "manage payment" to the Billing Portal; both come back to the canonical page."""

from __future__ import annotations

import pytest

from billing.models import Subscription
from tests.billing.stripe.test_sessions import recorded
from tests.factories import logged_in, owner_email

pytestmark = pytest.mark.usefixtures("db")


def test_owner_goes_to_checkout_then_to_the_portal(recorded_edge, tenant, other_tenant):
    owner = logged_in(tenant.domains.get(is_primary=True).domain, owner_email(tenant.slug))
    page = owner.get("/settings/plan/").content.decode()
    assert "Cadastrar cartão" in page

    response = owner.post("/settings/plan/payment-method/", {"where": "checkout"})
    assert response.status_code == 302 and response["Location"] == recorded("checkout_session.json")["url"]
    [(path, form)] = recorded_edge.requests
    assert form["success_url"] == ["http://alpha.localhost/settings/plan/?stripe=saved"]

    Subscription.objects.filter(organization_id=tenant.pk).update(payment_method="Visa •••• 4242")
    assert "Gerenciar pagamento" in owner.get("/settings/plan/").content.decode()
    response = owner.post("/settings/plan/payment-method/", {"where": "portal"})
    assert response["Location"] == recorded("billing_portal_session.json")["url"]
    assert not Subscription.objects.get(organization_id=other_tenant.pk).stripe_customer_id
