"""Billing's reads. Import from here: `from billing import selectors`.

usage: plans, limits profiles, the tree, ledger and usage summaries ·
money: subscriptions, invoices and credits as a tenant, partner or operator sees them."""

from billing.selectors.limits import limit_status, usage_summary
from billing.selectors.money import (
    InvoiceNotFound,
    invoice_for,
    invoice_list,
    issued_invoices,
    subscription_for,
    suspended_for_payment,
)
from billing.selectors.usage import (
    ANY_VERSION,
    PROFILE_LOCAL_TTL,
    PROFILE_TTL,
    UsageRow,
    _local_profiles,
    active_alerts,
    ancestor_ids,
    effective_limit,
    effective_limits,
    forget_local_profiles,
    ledger_usage,
    level_for,
    limits_profile,
    meters_for,
    organization_by_slug,
    plan_codes,
    plan_get,
    rollup,
    rollup_children,
    tree_ids,
)

__all__ = [
    "ANY_VERSION", "PROFILE_LOCAL_TTL", "PROFILE_TTL", "UsageRow", "_local_profiles", "active_alerts", "ancestor_ids",
    "effective_limit", "effective_limits", "forget_local_profiles", "ledger_usage", "level_for", "limits_profile",
    "meters_for", "organization_by_slug", "plan_codes", "plan_get", "rollup", "rollup_children", "tree_ids",
    "usage_summary", "limit_status",
    "InvoiceNotFound", "invoice_for", "invoice_list", "issued_invoices", "subscription_for", "suspended_for_payment",
]
