"""The hourly Stripe sync (beat: billing.tasks.stripe_sync, only with Stripe on): Orbit's
plans into Stripe's catalogue, the webhook endpoint's row from ORBIT_STRIPE_WEBHOOK_SECRET,
and the push of open invoices no task reached. Idempotent: each run does what is missing."""

from __future__ import annotations

import logging

from billing.stripe import catalogue, collect, enabled, webhooks

logger = logging.getLogger(__name__)


def stripe_sync() -> dict:
    if not enabled():
        return {"stripe": "off"}
    plans = catalogue.plans_sync()
    endpoint = webhooks.webhook_endpoint_ensure()
    pending = collect.invoices_collect_pending()
    if endpoint is None:
        logger.warning("ORBIT_STRIPE_WEBHOOK_SECRET is not set: Stripe's payment results will not reach Orbit")
    return {
        "products": len(plans.products), "plans_created": len(plans.plans_created),
        "plans_deactivated": len(plans.plans_deactivated),
        "webhook_path": webhooks.webhook_path() if endpoint is not None else None,
        "invoices_pushed": len(pending),
    }
