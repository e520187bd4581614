"""Everything real and committed: the period close opens an invoice, a Celery worker (real
broker) pushes it to localstripe, localstripe charges the card and POSTs its own signed
webhook to Orbit's live server (uvicorn on loopback), and the invoice, subscription and
tenant follow. Plus two concurrent deliveries of one event: one effect."""

from __future__ import annotations

import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context
from djstripe.models import Event, WebhookEventTrigger

from accounts.models import AuditEntry
from billing.models import BillingNotice, Invoice, Subscription
from billing.stripe import webhooks
from orbit.celery import app
from tests.billing.stripe.conftest import DECLINED_CARD, open_invoice, post_event, save_card
from tests.e2e.conftest import live_server_port  # noqa: F401  (uvicorn on the test database)

TIMEOUT = 20


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    """An in-process Celery worker (a thread) on this test slot's Redis broker."""
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    with django_db_blocker.unblock():
        app.control.purge()
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING") as w:
            yield w


@pytest.fixture
def delivering(stripe_on, live_server_port, djstripe_clean):  # noqa: F811
    """localstripe POSTs its events to Orbit's live server, as Stripe would."""
    webhooks.webhook_endpoint_ensure(base_url=f"http://localhost:{live_server_port}")
    stripe_on.deliver_to(f"http://localhost:{live_server_port}{webhooks.webhook_path()}",
                         events=webhooks.ENABLED_EVENTS)
    yield stripe_on
    stripe_on.stop_delivering()


def wait_for(check, what: str):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_opened_invoice_is_collected_by_stripe_and_the_tenant_is_active_again(live_db, worker, delivering,
                                                                                    tenant):
    save_card(tenant)

    invoice = open_invoice(tenant, unpaid=True)  # committed: the push is enqueued, the worker runs it

    wait_for(lambda: Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID, "the invoice to be paid")
    invoice.refresh_from_db()
    assert invoice.stripe_payment_intent_id.startswith("pi_")
    assert invoice.payment_reference == invoice.stripe_payment_intent_id
    wait_for(lambda: Subscription.objects.get(organization_id=tenant.pk).payment_method == "Visa •••• 4242",
             "the payment method summary")
    assert Subscription.objects.get(organization_id=tenant.pk).status == Subscription.Status.ACTIVE
    assert type(tenant).objects.get(pk=tenant.pk).status == "active"
    assert Event.objects.filter(type="payment_intent.succeeded",
                                data__object__id=invoice.stripe_payment_intent_id).count() == 1


def test_a_declined_card_leaves_the_tenant_past_due(live_db, worker, delivering, tenant):
    save_card(tenant, DECLINED_CARD)

    invoice = open_invoice(tenant)

    wait_for(lambda: Subscription.objects.get(organization_id=tenant.pk).status == Subscription.Status.PAST_DUE,
             "the subscription to go past due")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.stripe_payment_intent_id.startswith("pi_")
    assert type(tenant).objects.get(pk=tenant.pk).status == "past_due"
    assert BillingNotice.objects.filter(invoice=invoice, kind=BillingNotice.Kind.PAYMENT_FAILED).count() == 1


def test_two_concurrent_deliveries_of_one_event_have_one_effect(live_db, worker, stripe_on, djstripe_clean, tenant):
    webhooks.webhook_endpoint_ensure()
    save_card(tenant)
    invoice = open_invoice(tenant, unpaid=True)  # pushed by the worker; nothing delivers the webhooks
    wait_for(lambda: Invoice.objects.get(pk=invoice.pk).stripe_payment_intent_id, "the push")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    event = stripe_on.event_for("payment_intent.succeeded", invoice.stripe_payment_intent_id)
    start = threading.Barrier(2)
    statuses = []

    def deliver():
        try:
            client = Client(HTTP_HOST="localhost")
            start.wait(timeout=10)
            statuses.append(post_event(client, event).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200, 200]
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert WebhookEventTrigger.objects.filter(event__id=event["id"], valid=True, processed=True).count() == 2
    with schema_context(tenant.schema_name):
        assert AuditEntry.objects.filter(action="billing.invoice.paid").count() == 1
