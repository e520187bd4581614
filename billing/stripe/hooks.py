"""What the rest of billing calls when Stripe might care, without loading Stripe's SDK
when Stripe is off."""

from __future__ import annotations

from billing.stripe import enabled


def invoice_opened(invoice) -> None:
    """invoicing._open: with Stripe on, Stripe collects the invoice after commit
    (billing.stripe.collect.invoice_collect_later decides whether it is Stripe's to collect)."""
    if not enabled():
        return
    from billing.stripe.collect import invoice_collect_later

    invoice_collect_later(invoice)
