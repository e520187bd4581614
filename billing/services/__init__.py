"""Billing's writers. Import from here: `from billing import services`.

usage: limit overrides, alerts, meter recomputes, period transitions ·
subscriptions: start, plan changes (proration), cancel/resume, trials ·
invoicing: the period close, proration invoices, numbering, partners' wholesale ·
payments: paid / failed / void / credit notes, credits, adjustments, dunning."""

from billing.services.invoicing import (
    CloseResult,
    check_closable,
    credit_balance,
    invoice_preview,
    issuer_for,
    period_close,
)
from billing.services.payments import (
    adjustment_add,
    credit_grant,
    credit_note_issue,
    dunning_advance,
    invoice_mark_paid,
    invoice_mark_uncollectible,
    invoice_payment_failed,
    invoice_resend,
    invoice_void,
    notices_deliver,
    suspension_date,
)
from billing.services.subscriptions import (
    PlanChange,
    plan_change_preview,
    subscription_cancel,
    subscription_change_plan,
    subscription_extend_trial,
    subscription_resume,
    subscription_set_price_override,
    subscription_start,
    subscription_sync_plan,
    subscriptions_advance,
)
from billing.services.usage import (
    PROFILE_VERSION_TTL,
    BillingError,
    limit_alert_dismiss,
    limit_alert_notify,
    limit_alert_raise,
    limit_alert_raise_once,
    limit_alerts_raise_for_usage,
    limit_override_delete,
    limit_override_set,
    limits_profile_forget,
    meter_recompute,
    meters_recompute,
    periods_advance,
    plan_save,
)

__all__ = [
    "BillingError", "PROFILE_VERSION_TTL", "limits_profile_forget", "limit_override_set", "limit_override_delete",
    "plan_save", "limit_alert_raise", "limit_alert_raise_once", "limit_alerts_raise_for_usage", "limit_alert_notify",
    "limit_alert_dismiss", "meters_recompute", "meter_recompute", "periods_advance",
    "subscription_start", "plan_change_preview", "PlanChange", "subscription_change_plan", "subscription_cancel",
    "subscription_resume", "subscription_set_price_override", "subscription_extend_trial", "subscription_sync_plan",
    "subscriptions_advance",
    "CloseResult", "check_closable", "credit_balance", "invoice_preview", "issuer_for", "period_close",
    "adjustment_add", "credit_grant", "credit_note_issue", "dunning_advance", "invoice_mark_paid",
    "invoice_mark_uncollectible", "invoice_payment_failed", "invoice_resend", "invoice_void", "notices_deliver", "suspension_date",
]
