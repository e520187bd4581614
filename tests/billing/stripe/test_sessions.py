"""Checkout (save a card) and Billing Portal URLs for the plan page. localstripe has neither:
a loopback server answers those two requests with recorded Stripe bodies (everything else —
the customer — still goes to localstripe), and keeps what Orbit sent."""

from __future__ import annotations

import json
import time

import pytest

from billing.models import Subscription
from billing.services.usage import BillingError
from billing.stripe.sessions import checkout_session_url, portal_session_url
from billing.stripe.webhooks import webhook_endpoint_ensure
from tests.billing.stripe.conftest import RECORDED, post_event

pytestmark = pytest.mark.usefixtures("db")

RETURN = "https://alpha.localhost/settings/plan/"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


def test_checkout_saves_a_card_for_the_organizations_customer(recorded_edge, tenant):
    url = checkout_session_url(organization=tenant, return_url=RETURN)

    assert url == recorded("checkout_session.json")["url"]
    customer = Subscription.objects.get(organization_id=tenant.pk).stripe_customer_id
    assert customer.startswith("cus_")  # made on localstripe through the edge, kept
    [(path, form)] = recorded_edge.requests
    assert path == "/v1/checkout/sessions"
    assert form["mode"] == ["setup"] and form["customer"] == [customer]
    assert form["payment_method_types[0]"] == ["card"]
    assert form["success_url"] == [RETURN + "?stripe=saved"]
    assert form["cancel_url"] == [RETURN + "?stripe=cancelled"]
    assert form["metadata[organization]"] == [str(tenant.pk)]


def test_the_portal_opens_on_the_same_customer(recorded_edge, tenant, other_tenant):
    checkout_session_url(organization=tenant, return_url=RETURN)

    url = portal_session_url(organization=tenant, return_url=RETURN)
    portal_session_url(organization=other_tenant, return_url="https://beta.localhost/settings/plan/")

    assert url == recorded("billing_portal_session.json")["url"]
    mine = Subscription.objects.get(organization_id=tenant.pk).stripe_customer_id
    theirs = Subscription.objects.get(organization_id=other_tenant.pk).stripe_customer_id
    portal_requests = [form for path, form in recorded_edge.requests if path == "/v1/billing_portal/sessions"]
    assert [(f["customer"], f["return_url"]) for f in portal_requests] == [
        ([mine], [RETURN]), ([theirs], ["https://beta.localhost/settings/plan/"])]
    assert mine != theirs


@pytest.mark.parametrize("return_url", ["", "/settings/plan/", "javascript:alert(1)", "ftp://x.example/"])
def test_a_return_url_must_be_absolute_http(recorded_edge, tenant, return_url):
    with pytest.raises(BillingError):
        checkout_session_url(organization=tenant, return_url=return_url)
    with pytest.raises(BillingError):
        portal_session_url(organization=tenant, return_url=return_url)
    assert recorded_edge.requests == []
    assert Subscription.objects.get(organization_id=tenant.pk).stripe_customer_id == ""


def test_without_stripe_there_are_no_sessions(settings, tenant):
    settings.ORBIT_STRIPE_SECRET_KEY = ""

    with pytest.raises(BillingError):
        checkout_session_url(organization=tenant, return_url=RETURN)
    with pytest.raises(BillingError):
        portal_session_url(organization=tenant, return_url=RETURN)


def test_a_completed_checkout_makes_the_saved_card_the_default(recorded_edge, stripe_on, platform_client, tenant):
    """checkout.session.completed (recorded shape) for a SetupIntent localstripe really confirmed."""
    webhook_endpoint_ensure()
    checkout_session_url(organization=tenant, return_url=RETURN)
    customer = Subscription.objects.get(organization_id=tenant.pk).stripe_customer_id
    setup_intent = stripe_on.request("POST", "/v1/setup_intents", {"customer": customer})
    stripe_on.request("POST", f"/v1/setup_intents/{setup_intent['id']}/confirm", {"payment_method": "pm_card_visa"})
    session = {**recorded("checkout_session.json"), "customer": customer, "setup_intent": setup_intent["id"],
               "status": "complete", "url": None, "metadata": {"organization": str(tenant.pk)}}
    event = {"id": "evt_1QbXdE2eZvKYlo2CkKq3Wq1a", "object": "event", "api_version": "2025-03-31.basil",
             "created": int(time.time()), "data": {"object": session}, "livemode": False, "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}, "type": "checkout.session.completed"}

    assert post_event(platform_client, event).status_code == 200

    default = stripe_on.request("GET", f"/v1/customers/{customer}")["invoice_settings"]["default_payment_method"]
    assert default and default.startswith("pm_")
    assert Subscription.objects.get(organization_id=tenant.pk).payment_method == "Visa •••• 4242"


def test_a_completed_checkout_for_another_organizations_customer_is_ignored(recorded_edge, stripe_on,
                                                                             platform_client, tenant, other_tenant):
    webhook_endpoint_ensure()
    checkout_session_url(organization=tenant, return_url=RETURN)
    customer = Subscription.objects.get(organization_id=tenant.pk).stripe_customer_id
    setup_intent = stripe_on.request("POST", "/v1/setup_intents", {"customer": customer})
    stripe_on.request("POST", f"/v1/setup_intents/{setup_intent['id']}/confirm", {"payment_method": "pm_card_visa"})
    session = {**recorded("checkout_session.json"), "customer": customer, "setup_intent": setup_intent["id"],
               "status": "complete", "metadata": {"organization": str(other_tenant.pk)}}
    event = {"id": "evt_1QbXdE2eZvKYlo2CkKq3Wq1b", "object": "event", "api_version": "2025-03-31.basil",
             "created": int(time.time()), "data": {"object": session}, "livemode": False,
             "type": "checkout.session.completed"}

    assert post_event(platform_client, event).status_code == 200

    assert stripe_on.request("GET", f"/v1/customers/{customer}")["invoice_settings"]["default_payment_method"] is None
    assert Subscription.objects.get(organization_id=tenant.pk).payment_method == ""
    assert Subscription.objects.get(organization_id=other_tenant.pk).payment_method == ""
