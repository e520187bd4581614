"""Stripe's webhooks at dj-stripe's real endpoint on the platform host: correctly signed,
real-shaped events (localstripe's own, as it made them for the PaymentIntents Orbit pushed)
mark invoices paid or failed, once, in any order, for the right tenant only; anything
unsigned, badly signed, stale or malformed is refused with nothing changed."""

from __future__ import annotations

import copy
import json
import time
import uuid

import pytest
from django_tenants.utils import schema_context
from djstripe.models import Event, WebhookEventTrigger

from accounts.models import AuditEntry
from billing.models import BillingNotice, Invoice, Subscription
from billing.stripe import collect, webhooks
from tests.billing.stripe.conftest import DECLINED_CARD, open_invoice, post_event, save_card, signature
from tests.factories import make_organization

pytestmark = pytest.mark.usefixtures("db")

VISA_DEBIT = {"number": "4000056655665556", "exp_month": 10, "exp_year": 2033, "cvc": "321"}  # localstripe: all Visa


@pytest.fixture
def endpoint(stripe_on):
    return webhooks.webhook_endpoint_ensure()


def pushed(org, card=None, *, unpaid: bool = False) -> Invoice:
    """An open invoice Orbit pushed to Stripe (localstripe charged the saved card at once)."""
    invoice = open_invoice(org, unpaid=unpaid)
    save_card(org, card)
    collect.invoice_collect(invoice_id=invoice.pk)
    invoice.refresh_from_db()
    return invoice


def intent_id_of(server, invoice: Invoice) -> str:
    [intent] = [i for i in server.request("GET", "/v1/payment_intents?limit=100")["data"]
                if i["metadata"].get("orbit_invoice") == str(invoice.pk)]
    return intent["id"]


def as_other(event: dict, kind: str, **changes) -> dict:
    """Another event about the same PaymentIntent (the other outcome of an attempt)."""
    other = copy.deepcopy(event)
    other.update(id=f"evt_{uuid.uuid4().hex[:24]}", type=kind, created=event["created"] - 60)
    other["data"]["object"].update(changes)
    return other


def failed_version(event: dict) -> dict:
    return as_other(event, "payment_intent.payment_failed", status="requires_payment_method",
                    last_payment_error={"charge": "ch_earlierDeclined01", "code": "card_declined",
                                        "message": "Your card was declined."})


def succeeded_version(event: dict) -> dict:
    return as_other(event, "payment_intent.succeeded", status="succeeded", last_payment_error=None)


def state(org) -> tuple:
    invoice = Invoice.objects.filter(organization_id=org.pk).order_by("-id").first()
    subscription = Subscription.objects.get(organization_id=org.pk)
    return (invoice.status if invoice else None, invoice.paid_at if invoice else None, subscription.status,
            type(org).objects.get(pk=org.pk).status, subscription.payment_method,
            BillingNotice.objects.filter(organization_id=org.pk, kind=BillingNotice.Kind.PAYMENT_FAILED).count(),
            paid_audits(org))


def paid_audits(org) -> int:
    with schema_context(org.schema_name):
        return AuditEntry.objects.filter(action="billing.invoice.paid").count()


def test_a_successful_payment_marks_the_invoice_paid_and_the_tenant_active(endpoint, stripe_on, platform_client,
                                                                            tenant):
    invoice = pushed(tenant, unpaid=True)
    assert Subscription.objects.get(organization_id=tenant.pk).status == Subscription.Status.PAST_DUE
    event = stripe_on.event_for("payment_intent.succeeded", invoice.stripe_payment_intent_id)

    response = post_event(platform_client, event)

    assert response.status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.payment_reference == invoice.stripe_payment_intent_id
    subscription = Subscription.objects.get(organization_id=tenant.pk)
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.payment_method == "Visa •••• 4242"
    assert type(tenant).objects.get(pk=tenant.pk).status == "active"
    assert paid_audits(tenant) == 1
    assert Event.objects.filter(id=event["id"], type="payment_intent.succeeded").count() == 1


def test_a_declined_card_puts_the_subscription_past_due(endpoint, stripe_on, platform_client, tenant):
    invoice = pushed(tenant, DECLINED_CARD)
    intent = intent_id_of(stripe_on, invoice)
    event = stripe_on.event_for("payment_intent.payment_failed", intent)

    assert post_event(platform_client, event).status_code == 200

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.stripe_payment_intent_id == intent  # kept from the event (localstripe's decline omits it)
    subscription = Subscription.objects.get(organization_id=tenant.pk)
    assert subscription.status == Subscription.Status.PAST_DUE and subscription.past_due_since is not None
    assert type(tenant).objects.get(pk=tenant.pk).status == "past_due"
    assert BillingNotice.objects.filter(organization_id=tenant.pk, kind=BillingNotice.Kind.PAYMENT_FAILED,
                                        invoice=invoice).count() == 1


@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "no signature", "not a signature"])
def test_a_bad_signature_is_refused_and_changes_nothing(endpoint, stripe_on, platform_client, tenant, how):
    invoice = pushed(tenant, unpaid=True)
    event = stripe_on.event_for("payment_intent.succeeded", invoice.stripe_payment_intent_id)
    before = state(tenant)
    payload = json.dumps(event)

    if how == "wrong secret":
        response = post_event(platform_client, payload, secret="whsec_someone_else")
    elif how == "tampered body":
        genuine = signature(payload)
        response = post_event(platform_client, payload.replace('"amount": 49700', '"amount": 100'), header=genuine)
    elif how == "no signature":
        response = platform_client.post(webhooks.webhook_path(), data=payload, content_type="application/json")
    else:
        response = post_event(platform_client, payload, header="t=1,v1=deadbeef")

    assert response.status_code == 400
    assert state(tenant) == before
    assert not Event.objects.filter(id=event["id"]).exists()
    assert not WebhookEventTrigger.objects.filter(valid=True).exists()


def test_an_old_signature_is_refused(endpoint, stripe_on, platform_client, tenant):
    invoice = pushed(tenant, unpaid=True)
    event = stripe_on.event_for("payment_intent.succeeded", invoice.stripe_payment_intent_id)
    before = state(tenant)

    response = post_event(platform_client, event, timestamp=int(time.time()) - 301)  # tolerance: 300 s

    assert response.status_code == 400
    assert state(tenant) == before
    assert not Event.objects.filter(id=event["id"]).exists()


@pytest.mark.parametrize("body", [
    '{"id": "evt_1", "type": "payment_intent.succeeded",', "[]", "null", "not json", "",
    '{"type": "payment_intent.succeeded", "livemode": false, "data": {}}',
    '{"id": 5, "livemode": false, "type": "payment_intent.succeeded", "data": {}}',
    '{"id": "evt_2", "livemode": false, "created": "yesterday", "type": "customer.updated", "data": []}',
])
def test_a_malformed_body_is_refused(endpoint, platform_client, body):
    response = post_event(platform_client, body)  # correctly signed

    assert response.status_code == 400
    assert not Event.objects.exists()


def test_the_same_event_three_times_has_one_effect(endpoint, stripe_on, platform_client, tenant):
    invoice = pushed(tenant, unpaid=True)
    event = stripe_on.event_for("payment_intent.succeeded", invoice.stripe_payment_intent_id)

    responses = [post_event(platform_client, event) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert paid_audits(tenant) == 1
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert WebhookEventTrigger.objects.filter(valid=True, processed=True, event__id=event["id"]).count() == 3
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


def test_a_failure_arriving_after_the_success_does_not_unpay(endpoint, stripe_on, platform_client, tenant):
    invoice = pushed(tenant)
    success = stripe_on.event_for("payment_intent.succeeded", invoice.stripe_payment_intent_id)
    failure = failed_version(success)  # an earlier attempt's failure, delivered late

    assert post_event(platform_client, success).status_code == 200
    paid = state(tenant)
    assert post_event(platform_client, failure).status_code == 200

    assert state(tenant) == paid
    assert paid[0] == Invoice.Status.PAID and paid[2] == Subscription.Status.ACTIVE and paid[5] == 0


def test_a_success_after_a_failure_settles_the_invoice(endpoint, stripe_on, platform_client, tenant):
    invoice = pushed(tenant, DECLINED_CARD)
    failure = stripe_on.event_for("payment_intent.payment_failed", intent_id_of(stripe_on, invoice))
    success = succeeded_version(failure)
    success["created"] = failure["created"] + 120  # the retry that went through

    assert post_event(platform_client, failure).status_code == 200
    assert Subscription.objects.get(organization_id=tenant.pk).status == Subscription.Status.PAST_DUE
    assert post_event(platform_client, success).status_code == 200
    assert post_event(platform_client, failure).status_code == 200  # redelivered: ignored

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Subscription.objects.get(organization_id=tenant.pk).status == Subscription.Status.ACTIVE
    assert type(tenant).objects.get(pk=tenant.pk).status == "active"
    assert BillingNotice.objects.filter(organization_id=tenant.pk, kind=BillingNotice.Kind.PAYMENT_FAILED).count() == 1


def test_an_event_for_another_tenants_invoice_changes_only_that_invoice(endpoint, stripe_on, platform_client,
                                                                        tenant, other_tenant):
    mine = pushed(tenant, unpaid=True)
    theirs = pushed(other_tenant, unpaid=True)
    mine_before = state(tenant)
    event = stripe_on.event_for("payment_intent.succeeded", theirs.stripe_payment_intent_id)

    assert post_event(platform_client, event).status_code == 200

    assert state(tenant) == mine_before
    assert Invoice.objects.get(pk=mine.pk).status == Invoice.Status.OPEN
    assert Invoice.objects.get(pk=theirs.pk).status == Invoice.Status.PAID
    assert Subscription.objects.get(organization_id=other_tenant.pk).status == Subscription.Status.ACTIVE
    assert paid_audits(tenant) == 0 and paid_audits(other_tenant) == 1


@pytest.mark.parametrize("forgery", ["invoice of another organization", "not this invoice's PaymentIntent",
                                     "another platform's"])
def test_an_event_about_something_orbit_did_not_push_is_ignored(endpoint, stripe_on, platform_client, tenant,
                                                                 other_tenant, forgery):
    mine = pushed(tenant, unpaid=True)
    theirs = pushed(other_tenant, unpaid=True)
    event = copy.deepcopy(stripe_on.event_for("payment_intent.succeeded", theirs.stripe_payment_intent_id))
    metadata = event["data"]["object"]["metadata"]
    if forgery == "invoice of another organization":
        metadata["orbit_invoice"] = str(mine.pk)  # still other_tenant's organization
    elif forgery == "not this invoice's PaymentIntent":
        metadata.update(orbit_invoice=str(mine.pk), organization=str(tenant.pk))
    else:
        event["data"]["object"]["metadata"] = {**metadata, "orbit_platform": "staging.example.com"}
    before = (state(tenant), state(other_tenant))

    assert post_event(platform_client, event).status_code == 200  # Stripe's event, not ours to act on

    assert (state(tenant), state(other_tenant)) == before


def test_a_customer_update_refreshes_the_payment_method_summary(endpoint, stripe_on, platform_client, tenant):
    visa = save_card(tenant)
    debit = save_card(tenant, VISA_DEBIT)  # the customer switches cards (as in the Billing Portal)
    customer = Subscription.objects.get(organization_id=tenant.pk).stripe_customer_id
    updates = {e["data"]["object"]["invoice_settings"]["default_payment_method"]: e
               for e in stripe_on.events("customer.updated") if e["data"]["object"]["id"] == customer}

    summaries = []
    for payment_method in (visa, debit):
        assert post_event(platform_client, updates[payment_method]).status_code == 200
        summaries.append(Subscription.objects.get(organization_id=tenant.pk).payment_method)

    assert summaries == ["Visa •••• 4242", "Visa •••• 5556"]


def test_a_valid_event_orbit_does_not_use_is_recorded_and_changes_nothing(endpoint, stripe_on, platform_client,
                                                                          tenant):
    org = make_organization("cliente-novo")
    save_card(org)
    before = state(tenant)
    created = stripe_on.events("customer.created")[0]

    assert post_event(platform_client, created).status_code == 200

    assert Event.objects.filter(id=created["id"], type="customer.created").exists()
    assert state(tenant) == before


def test_debugs_secret_override_header_does_not_open_the_endpoint(endpoint, stripe_on, platform_client, settings,
                                                                   tenant):
    """dj-stripe lets X-Djstripe-Webhook-Secret replace the endpoint's secret when DEBUG is on;
    Orbit checks the signature again with the endpoint's own secret."""
    settings.DEBUG = True
    invoice = pushed(tenant, unpaid=True)
    event = stripe_on.event_for("payment_intent.succeeded", invoice.stripe_payment_intent_id)
    before = state(tenant)
    payload = json.dumps(event)

    response = platform_client.post(webhooks.webhook_path(), data=payload, content_type="application/json",
                                    HTTP_STRIPE_SIGNATURE=signature(payload, secret="whsec_attacker"),
                                    HTTP_X_DJSTRIPE_WEBHOOK_SECRET="whsec_attacker")

    assert response.status_code == 400
    assert state(tenant) == before
    assert not Event.objects.filter(id=event["id"]).exists()


def test_stripes_success_for_an_invoice_paid_by_hand_keeps_it_and_says_so(endpoint, stripe_on, platform_client,
                                                                          tenant, caplog):
    from billing import services

    invoice = pushed(tenant)
    services.invoice_mark_paid(invoice=invoice, reference="transferência 123")
    event = stripe_on.event_for("payment_intent.succeeded", invoice.stripe_payment_intent_id)

    assert post_event(platform_client, event).status_code == 200

    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_reference) == (Invoice.Status.PAID, "transferência 123")
    assert paid_audits(tenant) == 1
    assert any("already paid" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
