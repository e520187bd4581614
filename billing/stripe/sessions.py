"""Stripe-hosted pages for the plan page (/settings/plan/): where an organization saves a
card (Checkout, setup mode) and manages its payment methods and receipts (Billing Portal).

Both return a short-lived URL to redirect the browser to; both make the organization a
Stripe customer first if it is not one yet. Checkout is in setup mode on purpose: Orbit's
invoices are what gets charged (billing.stripe.collect), so Checkout only saves the card;
the checkout.session.completed webhook makes it the customer's default."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.utils.translation import gettext as _

from billing.services.usage import BillingError
from billing.stripe import enabled
from billing.stripe.client import client, platform_id
from billing.stripe.customers import customer_ensure

LOCALE = "pt-BR"


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def _check(return_url: str) -> None:
    if not enabled():
        raise BillingError(_("Pagamento online indisponível."))
    parts = urlsplit(return_url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BillingError(_("Endereço de retorno inválido."))


def checkout_session_url(*, organization, return_url: str) -> str:
    """A Stripe Checkout page where the organization saves a card for its invoices.
    The browser comes back to `return_url` with ?stripe=saved (or ?stripe=cancelled).
    Raises BillingError when Stripe is off or `return_url` is not an absolute http(s) URL."""
    _check(return_url)
    customer = customer_ensure(organization=organization)
    metadata = {"organization": str(organization.pk), "orbit_platform": platform_id()}
    session = client().v1.checkout.sessions.create(params={
        "mode": "setup",
        "customer": customer,
        "payment_method_types": ["card"],
        "success_url": _with_query(return_url, stripe="saved"),
        "cancel_url": _with_query(return_url, stripe="cancelled"),
        "locale": LOCALE,
        "metadata": metadata,
        "setup_intent_data": {"metadata": metadata},
    })
    return session.url


def portal_session_url(*, organization, return_url: str) -> str:
    """A Stripe Billing Portal page (payment methods, receipts) that links back to
    `return_url`. Raises BillingError as checkout_session_url does."""
    _check(return_url)
    customer = customer_ensure(organization=organization)
    session = client().v1.billing_portal.sessions.create(params={
        "customer": customer, "return_url": return_url, "locale": LOCALE,
    })
    return session.url
