"""Whether Stripe is on, and the one API client Orbit's Stripe code uses.

Orbit's calls go through a `stripe.StripeClient` built from settings (ORBIT_STRIPE_SECRET_KEY,
ORBIT_STRIPE_API_BASE), never through the SDK's module-level globals, so a settings change
(tests: localstripe's address) takes effect at the next call."""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal

import stripe
from django.conf import settings

from billing.stripe import enabled

CURRENCY = "brl"
# Stripe's smallest charge in BRL (R$ 0,50): below it a PaymentIntent is refused.
MINIMUM_CENTS = 50
TIMEOUT_SECONDS = 20
# Errors worth trying again later (network, Stripe's 5xx, rate limits); the requests carry
# idempotency keys, so a retry never does a thing twice.
RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


class StripeOff(RuntimeError):
    """Stripe is not configured (no ORBIT_STRIPE_SECRET_KEY)."""


@functools.lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        max_network_retries=2,
    )


def client() -> stripe.StripeClient:
    if not enabled():
        raise StripeOff("Stripe is not configured (ORBIT_STRIPE_SECRET_KEY)")
    return _client(settings.ORBIT_STRIPE_SECRET_KEY, getattr(settings, "ORBIT_STRIPE_API_BASE", "") or "")


def payment_method_types() -> list[str]:
    return list(getattr(settings, "ORBIT_STRIPE_PAYMENT_METHOD_TYPES", None) or ["card"])


def platform_id() -> str:
    """Names this installation in the metadata of what it sends to Stripe: events about
    objects another installation (sharing the Stripe account) made are not ours."""
    return settings.ORBIT_BASE_DOMAIN


def cents(amount: Decimal) -> int:
    return int((Decimal(amount) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def as_dict(obj) -> dict:
    """A StripeObject (or the plain dict of an event payload) as a plain dict."""
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return dict(obj)
