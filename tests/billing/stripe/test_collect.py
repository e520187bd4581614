"""An opened invoice is pushed to Stripe to collect: enqueued on commit (only with Stripe on),
one PaymentIntent per invoice whatever the reruns, charged to the saved card."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing import periods, pricing
from billing.models import Invoice
from billing.services.invoicing import invoice_store, issuer_for
from billing.stripe import collect
from orbit.celery import app
from tests.billing.conftest import last_period
from tests.billing.stripe.conftest import DECLINED_CARD, broker_tasks, open_invoice, save_card
from tests.factories import make_organization

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def empty_broker():
    app.control.purge()
    yield
    app.control.purge()


def payment_intents(server) -> list[dict]:
    return server.request("GET", "/v1/payment_intents?limit=100")["data"]


def test_without_stripe_an_opened_invoice_is_not_sent_anywhere(localstripe, empty_broker, tenant,
                                                                  django_capture_on_commit_callbacks):
    localstripe.flush()

    with django_capture_on_commit_callbacks(execute=True):
        invoice = open_invoice(tenant)

    assert broker_tasks() == []
    assert localstripe.request("GET", "/v1/customers")["data"] == []
    assert Invoice.objects.get(pk=invoice.pk).stripe_payment_intent_id == ""


def test_with_stripe_an_opened_invoice_is_pushed_after_commit(stripe_on, empty_broker, tenant,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice = open_invoice(tenant)
    assert broker_tasks() == []  # nothing before the commit

    for callback in callbacks:
        callback()

    assert broker_tasks() == [("billing.tasks.stripe_invoice_collect", f"({invoice.pk},)")]


def test_the_push_makes_one_payment_intent_charged_to_the_saved_card(stripe_on, tenant):
    invoice = open_invoice(tenant)
    save_card(tenant)

    assert collect.invoice_collect(invoice_id=invoice.pk) == collect.CREATED
    assert collect.invoice_collect(invoice_id=invoice.pk) == collect.EXISTING  # a rerun charges nothing

    [intent] = payment_intents(stripe_on)
    assert (intent["amount"], intent["currency"], intent["status"]) == (49700, "brl", "succeeded")
    assert intent["metadata"]["orbit_invoice"] == str(invoice.pk)
    assert intent["metadata"]["organization"] == str(tenant.pk)
    invoice.refresh_from_db()
    assert invoice.stripe_payment_intent_id == intent["id"]
    assert invoice.status == Invoice.Status.OPEN  # paid when Stripe's webhook says so


def test_without_a_saved_card_the_payment_intent_waits_for_the_customer(stripe_on, tenant):
    invoice = open_invoice(tenant)

    assert collect.invoice_collect(invoice_id=invoice.pk) == collect.CREATED
    assert collect.invoice_collect(invoice_id=invoice.pk) == collect.EXISTING

    [intent] = payment_intents(stripe_on)
    assert intent["status"] == "requires_payment_method"
    assert Invoice.objects.get(pk=invoice.pk).stripe_payment_intent_id == intent["id"]


def test_a_declined_card_is_reported_and_the_invoice_stays_open(stripe_on, tenant):
    invoice = open_invoice(tenant)
    save_card(tenant, DECLINED_CARD)

    assert collect.invoice_collect(invoice_id=invoice.pk) == collect.DECLINED

    [intent] = payment_intents(stripe_on)
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["code"] == "card_declined"
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN


def test_what_is_not_the_platforms_to_collect_is_left_alone(stripe_on, empty_broker, tenant,
                                                            django_capture_on_commit_callbacks):
    partner = make_organization("revenda-stripe", kind="partner")
    client = make_organization("cliente-stripe", parent=partner)
    paid = open_invoice(tenant)
    paid.status = Invoice.Status.PAID
    paid.save(update_fields=["status"])

    with django_capture_on_commit_callbacks(execute=True):
        # a partner's client is invoiced (and paid) by the partner, not through the platform's Stripe
        by_partner = invoice_store(organization=client, issuer=issuer_for(client), kind=Invoice.Kind.PERIOD,
                                   period=last_period(), draft=pricing.Draft([pricing.Line("base", "Plano",
                                                                                           Decimal("149.00"))]),
                                   now=periods.end(last_period()))

    assert by_partner.issuer == f"org:{partner.pk}" and by_partner.status == Invoice.Status.OPEN
    assert broker_tasks() == []
    assert collect.invoice_collect(invoice_id=by_partner.pk) == collect.SKIPPED
    assert collect.invoice_collect(invoice_id=paid.pk) == collect.SKIPPED
    assert payment_intents(stripe_on) == []


def test_an_amount_below_stripes_minimum_is_left_to_be_paid_by_hand(stripe_on, tenant):
    tiny = invoice_store(organization=tenant, issuer=issuer_for(tenant), kind=Invoice.Kind.PRORATION,
                         period=last_period(), draft=pricing.Draft([pricing.Line("proration", "1 dia", Decimal("0.30"))]),
                         now=periods.end(last_period()), source_key="test:tiny")

    assert tiny.status == Invoice.Status.OPEN
    assert collect.invoice_collect(invoice_id=tiny.pk) == collect.SKIPPED
    assert collect.invoices_collect_pending(now=periods.end(last_period()) + dt.timedelta(days=1)) == []
    assert payment_intents(stripe_on) == []
