"""Billing tables, all in the public schema (billing is a SHARED_APP).

usage: plans, overrides, the usage ledger, meters and limit alerts ·
money: subscriptions, invoices, credits, adjustments, partners' prices, notices."""

from billing.models.money import (
    PLATFORM_ISSUER,
    ZERO,
    Adjustment,
    BillingNotice,
    CreditEntry,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    PartnerPricing,
    Subscription,
)
from billing.models.usage import LimitAlert, LimitOverride, Meter, Plan, UsageEvent

__all__ = [
    "Plan", "LimitOverride", "UsageEvent", "Meter", "LimitAlert",
    "Subscription", "InvoiceSequence", "Invoice", "InvoiceLine", "CreditEntry", "Adjustment",
    "PartnerPricing", "BillingNotice", "PLATFORM_ISSUER", "ZERO",
]
