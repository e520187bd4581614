"""Stripe's webhooks: dj-stripe's endpoint receives and verifies them, Orbit acts on them.

The route is dj-stripe's (/stripe/webhook/<uuid>/ on the platform host, orbit/urls_public.py).
dj-stripe stores every POST (WebhookEventTrigger) and checks its Stripe-Signature against
the endpoint's secret with a 300 s tolerance: a bad, missing or old signature, or a body
that is not an event, is answered 400 before anything here runs.

Why Orbit takes over the processing (DJSTRIPE_WEBHOOK_EVENT_CALLBACK = webhook_trigger_process)
instead of listening to dj-stripe's signals: dj-stripe's own processing first re-fetches the
event's owner account and object from Stripe's API and syncs its mirror tables, in the same
transaction as any listener. When that fetch fails — localstripe has no /v1/account and
cannot be synced PaymentIntents or invoices ("Bad expand"), and real Stripe can be down or
answer in another API version — the listener's work is rolled back and the endpoint
answers 500. So Orbit's handling reads the verified payload alone:

1. verify the signature again with the endpoint's secret (dj-stripe lets an
   `X-Djstripe-Webhook-Secret` header replace the secret when DEBUG is on; we do not);
2. record the event once: the djstripe Event row (unique Stripe id) is inserted first, in
   a savepoint; a replay, or a concurrent POST of the same event (which waits on the
   first one's insert and then fails it), finds it and does nothing more;
3. act: payment_intent.succeeded → services.invoice_mark_paid (reference: the PaymentIntent),
   payment_intent.payment_failed → services.invoice_payment_failed, customer.updated and
   checkout.session.completed (a card saved through Checkout) → the payment-method summary;
4. then let dj-stripe sync its mirror tables, in a savepoint of its own: a failure there is
   logged and changes nothing of the above.

Out of order is safe by construction: invoice_mark_paid is a no-op on a paid invoice and
invoice_payment_failed ignores any invoice that is not open, so a failure that arrives
after the success never un-pays. An event acts only on the invoice its PaymentIntent was
made for (metadata: this platform, the invoice and its organization; the PaymentIntent's
id, once kept on the invoice, must match), so one tenant's event never touches another's."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, Subscription
from billing.services import payments
from billing.services.usage import BillingError
from billing.stripe import customers
from billing.stripe.client import as_dict, cents, client, platform_id

logger = logging.getLogger(__name__)

ENABLED_EVENTS = [
    "payment_intent.succeeded", "payment_intent.payment_failed", "customer.updated", "checkout.session.completed",
]
TOLERANCE_SECONDS = 300


# --- the endpoint ---------------------------------------------------------------------


def webhook_uuid() -> uuid.UUID:
    """This installation's endpoint id in the URL: stable (the Stripe dashboard keeps the
    URL) and not guessable without the secret key."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"orbit-stripe-webhook:{settings.ORBIT_BASE_DOMAIN}:{settings.SECRET_KEY}")


def webhook_path() -> str:
    return reverse("stripe_webhook", kwargs={"uuid": webhook_uuid()}, urlconf=settings.PUBLIC_SCHEMA_URLCONF)


def webhook_endpoint_ensure(*, secret: str | None = None, base_url: str | None = None):
    """dj-stripe's WebhookEndpoint row for ORBIT_STRIPE_WEBHOOK_SECRET (made or updated), or
    None without a secret. Register `base_url + webhook_path()` in Stripe's dashboard (or
    `stripe listen --forward-to`) with the events in ENABLED_EVENTS."""
    from djstripe.models import WebhookEndpoint

    secret = settings.ORBIT_STRIPE_WEBHOOK_SECRET if secret is None else secret
    if not secret:
        return None
    base_url = base_url or f"https://{settings.ORBIT_BASE_DOMAIN}"
    endpoint_uuid = webhook_uuid()
    endpoint, _created = WebhookEndpoint.objects.update_or_create(
        djstripe_uuid=endpoint_uuid,
        defaults={
            "id": f"we_orbit_{endpoint_uuid.hex[:16]}", "secret": secret, "url": base_url.rstrip("/") + webhook_path(),
            "enabled_events": ENABLED_EVENTS, "status": "enabled", "livemode": settings.STRIPE_LIVE_MODE,
            "djstripe_tolerance": TOLERANCE_SECONDS, "djstripe_validation_method": "verify_signature",
        },
    )
    return endpoint


# --- processing -----------------------------------------------------------------------


def webhook_trigger_process(trigger, api_key=None) -> None:
    """DJSTRIPE_WEBHOOK_EVENT_CALLBACK: runs for a trigger dj-stripe found valid, inside its
    transaction; dj-stripe saves the trigger afterwards (and answers 400 if we turn it invalid)."""
    endpoint = trigger.webhook_endpoint
    signature = {k.lower(): v for k, v in (trigger.headers or {}).items()}.get("stripe-signature", "")
    try:
        stripe.WebhookSignature.verify_header(trigger.body, signature, endpoint.secret,
                                              endpoint.djstripe_tolerance or TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError):
        logger.warning("Stripe webhook %s: the signature does not match the endpoint's secret", trigger.pk)
        trigger.valid = False
        return
    data = trigger.json_body
    if not isinstance(data.get("id"), str) or not data["id"] or not isinstance(data.get("data"), dict):
        trigger.valid = False  # signed, but not an event
        return
    event, created = event_record(data)
    trigger.event = event
    trigger.processed = True
    if not created:
        return
    event_handle(data)
    _mirror(event)


def event_record(data: dict):
    """The djstripe Event for this Stripe event, and whether this call made it."""
    from djstripe.models import Event

    created_at = _event_time(data)
    request = data.get("request")
    try:
        with transaction.atomic():
            return Event.objects.create(
                id=data["id"], type=str(data.get("type") or "")[:250], livemode=bool(data.get("livemode")),
                api_version=str(data.get("api_version") or "")[:64], created=created_at,
                data=data.get("data") or {}, stripe_data=data,
                request_id=(request.get("id") if isinstance(request, dict) else request) or "",
                idempotency_key=(request.get("idempotency_key") if isinstance(request, dict) else "") or "",
            ), True
    except IntegrityError:
        return Event.objects.get(id=data["id"]), False


def event_handle(data: dict) -> None:
    """Orbit's reaction to one verified Stripe event (a payload, as Stripe sent it)."""
    kind = data.get("type")
    obj = ((data.get("data") or {}).get("object")) or {}
    if not isinstance(obj, dict):
        return
    handler = HANDLERS.get(kind)
    if handler is not None:
        handler(obj, data)


def _mirror(event) -> None:
    """dj-stripe's own handlers (sync of its mirror tables), best effort."""
    try:
        with transaction.atomic():
            event.invoke_webhook_handlers()
    except Exception as error:
        logger.info("dj-stripe could not sync %s %s (%s: %s); Orbit's handling stands",
                    event.type, event.id, type(error).__name__, str(error)[:200])


# --- payments -------------------------------------------------------------------------


def _invoice_for(intent: dict, event: dict) -> Invoice | None:
    """The invoice this PaymentIntent was made for, or None when it is not one of ours."""
    metadata = intent.get("metadata") or {}
    if metadata.get("orbit_platform") != platform_id():
        return None
    try:
        invoice_id = int(metadata.get("orbit_invoice"))
    except (TypeError, ValueError):
        return None
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or str(invoice.organization_id) != str(metadata.get("organization")):
        logger.warning("Stripe event %s names invoice %s of another organization: ignored", event.get("id"), invoice_id)
        return None
    if invoice.stripe_payment_intent_id and invoice.stripe_payment_intent_id != intent.get("id"):
        logger.warning("Stripe event %s: %s is not the PaymentIntent of invoice %s: ignored",
                       event.get("id"), intent.get("id"), invoice.pk)
        return None
    return invoice


def _keep_intent(invoice: Invoice, intent_id: str) -> None:
    """A PaymentIntent whose id the push could not keep (a decline answered without it)."""
    if not invoice.stripe_payment_intent_id and intent_id:
        Invoice.objects.filter(pk=invoice.pk, stripe_payment_intent_id="").update(stripe_payment_intent_id=intent_id)


def _event_time(event: dict) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(event["created"]), tz=dt.UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return timezone.now()


def payment_succeeded(intent: dict, event: dict) -> None:
    invoice = _invoice_for(intent, event)
    if invoice is None:
        return
    received = intent.get("amount_received")
    if received is None:
        received = intent.get("amount") or 0
    if str(intent.get("currency") or "").lower() != invoice.currency.lower() or received < cents(invoice.amount_due):
        logger.error("Stripe %s paid %s %s for invoice %s (due %s): not marked paid", intent.get("id"), received,
                     intent.get("currency"), invoice.number, invoice.amount_due)
        return
    _keep_intent(invoice, intent.get("id") or "")
    if invoice.status == Invoice.Status.PAID and invoice.payment_reference != intent["id"]:
        logger.error("Stripe %s collected invoice %s, already paid (%s): refund one of the two", intent["id"],
                     invoice.number, invoice.payment_reference)
    try:
        payments.invoice_mark_paid(invoice=invoice, reference=intent["id"], paid_at=_event_time(event))
    except BillingError as refused:  # void: the customer paid a cancelled invoice — refund or credit by hand
        logger.error("Stripe %s paid invoice %s, which is %s: %s", intent.get("id"), invoice.number, invoice.status,
                     refused)
        return
    summary = _intent_summary(intent)
    if summary:
        customers.subscription_payment_method_set(organization_id=invoice.organization_id, summary=summary)


def payment_failed(intent: dict, event: dict) -> None:
    invoice = _invoice_for(intent, event)
    if invoice is None:
        return
    _keep_intent(invoice, intent.get("id") or "")
    error = intent.get("last_payment_error") or {}
    charge = error.get("charge") or _id(intent.get("latest_charge")) or event.get("id") or ""
    # one notice per invoice and failed attempt (the charge), whichever copy of the event comes
    payments.invoice_payment_failed(invoice=invoice, reason=f"{intent.get('id')}:{charge}", now=_event_time(event))


def _id(value) -> str:
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def _intent_summary(intent: dict) -> str:
    """"Visa •••• 4242" from the payload (the charge's details) or, when the payload does not
    carry them (other API versions, localstripe), from the payment method itself."""
    charges = ((intent.get("charges") or {}).get("data")) or []
    latest = intent.get("latest_charge")
    for charge in ([latest] if isinstance(latest, dict) else []) + list(reversed(charges)):
        summary = customers.card_details_summary((charge or {}).get("payment_method_details"))
        if summary:
            return summary
    payment_method = intent.get("payment_method")
    if isinstance(payment_method, dict):
        return customers.payment_method_summary(payment_method)
    if not payment_method:
        return ""
    try:
        return customers.payment_method_summary(customers.payment_method_retrieve(payment_method))
    except stripe.StripeError:
        logger.warning("could not read payment method %s for its summary", payment_method, exc_info=True)
        return ""


# --- customers ------------------------------------------------------------------------


def customer_updated(customer: dict, event: dict) -> None:
    """The customer's default payment method changed (or anything else did): refresh the summary."""
    subscription = Subscription.objects.filter(stripe_customer_id=customer.get("id") or "-").first()
    if subscription is None:
        return
    default = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if not default:
        summary = "" if not customer.get("default_source") else subscription.payment_method
    elif isinstance(default, dict):
        summary = customers.payment_method_summary(default)
    else:
        try:
            summary = customers.payment_method_summary(customers.payment_method_retrieve(default))
        except stripe.StripeError:
            logger.warning("could not read payment method %s for its summary", default, exc_info=True)
            return
    customers.subscription_payment_method_set(organization_id=subscription.organization_id, summary=summary)


def checkout_completed(session: dict, event: dict) -> None:
    """A card saved through Checkout (setup mode, billing.stripe.sessions) becomes the
    customer's default payment method, which the next invoices are charged to."""
    if session.get("mode") != "setup" or not session.get("setup_intent"):
        return
    subscription = Subscription.objects.filter(stripe_customer_id=_id(session.get("customer")) or "-").first()
    metadata = session.get("metadata") or {}
    if subscription is None or str(metadata.get("organization")) != str(subscription.organization_id):
        return
    api = client()
    setup_intent = as_dict(api.v1.setup_intents.retrieve(_id(session["setup_intent"])))
    payment_method = _id(setup_intent.get("payment_method"))
    if setup_intent.get("status") != "succeeded" or not payment_method:
        return
    api.v1.customers.update(subscription.stripe_customer_id,
                            params={"invoice_settings": {"default_payment_method": payment_method}})
    summary = customers.payment_method_summary(customers.payment_method_retrieve(payment_method))
    customers.subscription_payment_method_set(organization_id=subscription.organization_id, summary=summary)


HANDLERS = {
    "payment_intent.succeeded": payment_succeeded,
    "payment_intent.payment_failed": payment_failed,
    "customer.updated": customer_updated,
    "checkout.session.completed": checkout_completed,
}
