"""Stripe collects Orbit's invoices (optional: nothing here runs without ORBIT_STRIPE_SECRET_KEY).

Orbit's Invoice is the record; Stripe only collects it. Modules:

client     whether Stripe is on, the API client, amounts in centavos
customers  organization → Stripe customer (made on first need), the "Visa •••• 4242" summary
catalogue  Orbit's plans → Stripe Products and (old-style, fixed-id) Plans
collect    an opened invoice → one PaymentIntent (enqueued on commit, idempotent)
webhooks   dj-stripe's verified events → invoice_mark_paid / invoice_payment_failed, once each
sessions   Checkout (save a card) and Billing Portal URLs for the plan page
setup      the hourly sync: plans, the webhook endpoint's row, invoices left unpushed

billing/README.md ("Stripe") is the guide."""

from django.conf import settings


def enabled() -> bool:
    """Stripe is on when ORBIT_STRIPE_SECRET_KEY is set (cheap: the SDK is not imported)."""
    return bool(getattr(settings, "ORBIT_STRIPE_SECRET_KEY", ""))
