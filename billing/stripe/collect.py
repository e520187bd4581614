"""Stripe collects an opened invoice: one PaymentIntent per invoice, for its amount due.

invoicing._open calls `invoice_collect_later` for every invoice it opens; with Stripe on,
the platform's invoices with something to pay are pushed by a Celery task after commit
(`billing.tasks.stripe_invoice_collect` → `invoice_collect`). The outcome is not decided
here: Stripe's payment_intent.succeeded / payment_intent.payment_failed webhooks mark the
invoice paid or failed (billing.stripe.webhooks), whatever the order they arrive in.

Never twice: the invoice row is locked while its PaymentIntent is made, the PaymentIntent's
id is kept on the invoice (a rerun finds it and stops), and the create carries the
idempotency key `orbit:<platform>:invoice:<id>` (Stripe answers a repeat — a retry after a
crash before our commit — with the first PaymentIntent instead of charging again)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import stripe
from celery import current_app
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from billing.models import PLATFORM_ISSUER, Invoice
from billing.stripe import enabled
from billing.stripe.client import MINIMUM_CENTS, as_dict, cents, client, payment_method_types, platform_id
from billing.stripe.customers import customer_ensure, default_payment_method_id

logger = logging.getLogger(__name__)

CREATED = "created"
EXISTING = "existing"
SKIPPED = "skipped"
DECLINED = "declined"
# An invoice no task pushed (a broker outage) is pushed by the hourly sync after this long.
PENDING_AFTER = dt.timedelta(minutes=10)


def collectable(invoice: Invoice | None) -> bool:
    """Stripe collects the platform's own open invoices with something to pay. A partner's
    clients are invoiced — and paid — by the partner; credit notes are not bills."""
    return (invoice is not None and invoice.status == Invoice.Status.OPEN and invoice.amount_due > 0
            and invoice.issuer == PLATFORM_ISSUER and invoice.kind != Invoice.Kind.CREDIT_NOTE
            and invoice.organization_id is not None)


def idempotency_key(invoice: Invoice) -> str:
    return f"orbit:{platform_id()}:invoice:{invoice.pk}"


def invoice_collect_later(invoice: Invoice) -> None:
    """The hook invoicing._open calls: with Stripe on, push the invoice after commit."""
    if not enabled() or not collectable(invoice):
        return
    invoice_id = invoice.pk
    transaction.on_commit(lambda: _enqueue(invoice_id))


COLLECT_TASK = "billing.tasks.stripe_invoice_collect"


def _enqueue(invoice_id: int) -> None:
    try:
        with schema_context(get_public_schema_name()):  # public tables only
            current_app.send_task(COLLECT_TASK, args=(invoice_id,))  # by name: tasks import this module
    except Exception:  # an unreachable broker must not fail what opened the invoice
        logger.warning("could not enqueue the Stripe push of invoice %s (the hourly sync will)", invoice_id,
                       exc_info=True)


def invoice_collect(*, invoice_id: int) -> str:
    """Push one invoice to Stripe: a PaymentIntent for its amount due in BRL, confirmed
    off-session with the customer's default payment method when there is one (otherwise
    it waits for the customer, e.g. boleto or Pix where enabled). Returns CREATED,
    EXISTING (already pushed), SKIPPED (nothing to collect) or DECLINED (the card was
    refused at once; the payment_failed webhook records it)."""
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if not collectable(invoice) or invoice.stripe_payment_intent_id:
        return EXISTING if invoice is not None and invoice.stripe_payment_intent_id else SKIPPED
    amount = cents(invoice.amount_due)
    if amount < MINIMUM_CENTS:
        logger.warning("invoice %s: %s centavos is below Stripe's minimum; left to be paid by hand", invoice.pk, amount)
        return SKIPPED
    organization = get_tenant_model().objects.get(pk=invoice.organization_id)
    customer_id = customer_ensure(organization=organization)
    payment_method = default_payment_method_id(client().v1.customers.retrieve(customer_id))
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
        if not collectable(invoice):
            return SKIPPED
        if invoice.stripe_payment_intent_id:
            return EXISTING
        params = {
            "amount": amount, "currency": invoice.currency.lower(), "customer": customer_id,
            "payment_method_types": payment_method_types(),
            "metadata": {"orbit_invoice": str(invoice.pk), "orbit_number": invoice.number,
                         "organization": str(invoice.organization_id), "orbit_platform": platform_id()},
        }
        if payment_method:
            params.update(payment_method=payment_method, confirm=True, off_session=True)
        outcome = CREATED
        try:
            intent = as_dict(client().v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key(invoice)}))
        except stripe.CardError as declined:
            # Stripe names the refused PaymentIntent in the error (localstripe does not: its
            # id then comes with the payment_failed webhook).
            intent = as_dict(getattr(declined.error, "payment_intent", None))
            outcome = DECLINED
            logger.info("invoice %s: card declined (%s)", invoice.pk, getattr(declined, "code", ""))
        if intent.get("id"):
            invoice.stripe_payment_intent_id = intent["id"]
            invoice.save(update_fields=["stripe_payment_intent_id"])
    return outcome


def invoices_collect_pending(*, now: dt.datetime | None = None) -> list[int]:
    """Enqueue the push of open invoices that none reached (a broker outage when they opened)."""
    if not enabled():
        return []
    now = now or timezone.now()
    pending = list(Invoice.objects.filter(
        status=Invoice.Status.OPEN, amount_due__gte=Decimal(MINIMUM_CENTS) / 100, issuer=PLATFORM_ISSUER,
        stripe_payment_intent_id="",
        organization__isnull=False, issued_at__lt=now - PENDING_AFTER,
    ).exclude(kind=Invoice.Kind.CREDIT_NOTE).values_list("pk", flat=True))
    for invoice_id in pending:
        _enqueue(invoice_id)
    return pending
