"""The hourly Stripe sync (beat, only with Stripe on): catalogue, the webhook endpoint's row,
and the push of open invoices that no task reached."""

from __future__ import annotations

import datetime as dt

import pytest
from djstripe.models import WebhookEndpoint

from billing.models import Invoice
from billing.stripe import setup, webhooks
from orbit.celery import app
from tests.billing.stripe.conftest import WEBHOOK_SECRET, broker_tasks, open_invoice

pytestmark = pytest.mark.usefixtures("db")


@pytest.fixture
def empty_broker():
    app.control.purge()
    yield
    app.control.purge()


def test_the_sync_sets_up_stripe_and_pushes_what_was_missed(stripe_on, empty_broker, tenant, other_tenant):
    missed = open_invoice(tenant)  # its task was lost (a broker outage)
    Invoice.objects.filter(pk=missed.pk).update(issued_at=missed.issued_at - dt.timedelta(hours=1))
    recent = open_invoice(other_tenant)  # its task may still be on the way
    assert recent.issued_at > missed.issued_at - dt.timedelta(hours=1)

    result = setup.stripe_sync()

    assert result["products"] == 5 and result["plans_created"] > 0
    assert result["invoices_pushed"] == 1
    assert broker_tasks() == [("billing.tasks.stripe_invoice_collect", f"({missed.pk},)")]
    endpoint = WebhookEndpoint.objects.get(djstripe_uuid=webhooks.webhook_uuid())
    assert endpoint.secret == WEBHOOK_SECRET and endpoint.djstripe_tolerance == 300
    assert result["webhook_path"] == f"/stripe/webhook/{webhooks.webhook_uuid()}/"

    again = setup.stripe_sync()  # idempotent: nothing new in Stripe, one endpoint row
    assert again["plans_created"] == 0
    assert WebhookEndpoint.objects.count() == 1


def test_a_new_webhook_secret_replaces_the_old_one(stripe_on, settings):
    webhooks.webhook_endpoint_ensure()
    settings.ORBIT_STRIPE_WEBHOOK_SECRET = "whsec_rolled_2"

    webhooks.webhook_endpoint_ensure()

    assert list(WebhookEndpoint.objects.values_list("secret", flat=True)) == ["whsec_rolled_2"]


def test_without_stripe_the_sync_does_nothing(settings, localstripe, empty_broker, tenant):
    localstripe.flush()
    settings.ORBIT_STRIPE_SECRET_KEY = ""
    invoice = open_invoice(tenant)
    Invoice.objects.filter(pk=invoice.pk).update(issued_at=invoice.issued_at - dt.timedelta(hours=1))

    assert setup.stripe_sync() == {"stripe": "off"}
    assert broker_tasks() == []
    assert localstripe.request("GET", "/v1/products")["data"] == []
    assert not WebhookEndpoint.objects.exists()
