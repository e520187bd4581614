"""Organizations as Stripe customers, and the payment-method summary the plan page shows.

A customer is made the first time something needs one (collecting an invoice, a Checkout or
Billing Portal session); its id is kept on Subscription.stripe_customer_id and never
replaced."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing.models import Subscription
from billing.services.usage import BillingError
from billing.stripe.client import as_dict, client, platform_id

logger = logging.getLogger(__name__)

CARD_BRANDS = {
    "amex": "American Express", "diners": "Diners Club", "discover": "Discover", "elo": "Elo",
    "hipercard": "Hipercard", "jcb": "JCB", "mastercard": "Mastercard", "unionpay": "UnionPay", "visa": "Visa",
}
OTHER_METHODS = {"boleto": "Boleto", "pix": "Pix"}


def _owner_email(organization) -> str:
    """The organization's first active owner (its schema's users), for Stripe's receipts."""
    try:
        with schema_context(organization.schema_name):
            return (get_user_model().objects.filter(is_active=True, role="owner").order_by("pk")
                    .values_list("email", flat=True).first()) or ""
    except Exception:  # a schema that is gone: the customer is made without an e-mail
        logger.warning("no owner e-mail for %s", organization.schema_name, exc_info=True)
        return ""


def customer_ensure(*, organization) -> str:
    """The organization's Stripe customer id, made on first need.

    The create carries an idempotency key per organization, so two first needs at once get
    the same customer from Stripe; the id is then written only where none is kept yet (the
    first writer wins and the other reads its id back)."""
    subscription = Subscription.objects.filter(organization_id=organization.pk).first()
    if subscription is None:
        raise BillingError(_("Esta organização não tem assinatura."))
    if subscription.stripe_customer_id:
        return subscription.stripe_customer_id
    params = {
        "name": organization.name[:200],
        "metadata": {"organization": str(organization.pk), "slug": organization.slug, "orbit_platform": platform_id()},
        "preferred_locales": ["pt-BR"],
    }
    email = _owner_email(organization)
    if email:
        params["email"] = email
    customer = client().v1.customers.create(
        params=params, options={"idempotency_key": f"orbit:{platform_id()}:customer:{organization.pk}"}
    )
    written = Subscription.objects.filter(pk=subscription.pk, stripe_customer_id="").update(
        stripe_customer_id=customer.id
    )
    if not written:
        return Subscription.objects.values_list("stripe_customer_id", flat=True).get(pk=subscription.pk)
    return customer.id


def payment_method_summary(payment_method) -> str:
    """"Visa •••• 4242" for a card, "Boleto" / "Pix" for those, "" when unknown."""
    data = as_dict(payment_method)
    kind = data.get("type") or ("card" if data.get("card") else "")
    if kind == "card":
        card = data.get("card") or {}
        brand = CARD_BRANDS.get(str(card.get("brand") or "").lower(), str(card.get("brand") or "").title())
        last4 = card.get("last4") or ""
        return f"{brand} •••• {last4}".strip() if last4 else brand
    return OTHER_METHODS.get(kind, kind.replace("_", " ").title())


def card_details_summary(details) -> str:
    """The same summary from a charge's payment_method_details."""
    data = as_dict(details)
    if data.get("type") == "card" and data.get("card"):
        return payment_method_summary({"type": "card", "card": data["card"]})
    if data.get("type"):
        return payment_method_summary({"type": data["type"]})
    return ""


def payment_method_retrieve(payment_method_id: str) -> dict:
    return as_dict(client().v1.payment_methods.retrieve(payment_method_id))


def default_payment_method_id(customer) -> str:
    """The customer's default payment method (for invoices), or ""."""
    data = as_dict(customer)
    default = (data.get("invoice_settings") or {}).get("default_payment_method")
    if isinstance(default, dict):
        return default.get("id") or ""
    return default or ""


def subscription_payment_method_set(*, organization_id: int, summary: str) -> int:
    """What the plan page shows as the way the organization pays."""
    return Subscription.objects.filter(organization_id=organization_id).update(payment_method=summary[:80])
