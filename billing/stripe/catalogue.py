"""Orbit's plans as Stripe Products and Plans, for Stripe's dashboard, reports and receipts.

Only Orbit's invoices are charged (billing.stripe.collect): nothing here bills anyone.

Each plan is a Product with a fixed id (`orbit-<code>`), and each of its prices an
old-style Plan (/v1/plans) whose fixed id names the amount (`orbit-<code>-month-49700`):
an amount never changes in Stripe, so a new price is a new Plan and the old one is made
inactive. Why Plans and not Prices: Stripe keeps /v1/plans, and every Plan is also a
Price with the same id (Checkout and the Billing Portal take it as one); only Plans accept
an id of our choosing, which makes the sync idempotent without keeping Stripe ids in
Orbit; and localstripe (the tests' Stripe) has no /v1/prices. Plans priced on request
(Enterprise) get their Product only."""

from __future__ import annotations

from dataclasses import dataclass, field

import stripe

from billing import pricing
from billing.models import Plan
from billing.stripe.client import CURRENCY, as_dict, cents, client, platform_id

INTERVALS = (("month", "monthly"), ("year", "yearly"))


@dataclass
class SyncResult:
    products: list[str] = field(default_factory=list)
    plans_created: list[str] = field(default_factory=list)
    plans_kept: list[str] = field(default_factory=list)
    plans_deactivated: list[str] = field(default_factory=list)


def product_id(plan: Plan) -> str:
    return f"orbit-{plan.code}"


def plan_id(plan: Plan, interval: str, amount_cents: int) -> str:
    return f"orbit-{plan.code}-{interval}-{amount_cents}"


def _missing(error: stripe.InvalidRequestError) -> bool:
    return getattr(error, "http_status", None) == 404


def _active(obj: dict) -> bool:
    # localstripe keeps an updated boolean as the string it was sent ("false")
    return str(obj.get("active", True)).lower() != "false"


def _product_upsert(api, plan: Plan) -> str:
    pid = product_id(plan)
    fields = {"name": plan.name, "metadata": {"orbit_plan": plan.code, "orbit_platform": platform_id()}}
    try:
        current = as_dict(api.v1.products.retrieve(pid))
    except stripe.InvalidRequestError as error:
        if not _missing(error):
            raise
        api.v1.products.create(params={"id": pid, **fields})
        return pid
    if current.get("name") != plan.name or not _active(current):
        api.v1.products.update(pid, params={"name": plan.name, "active": True})
    return pid


def plans_sync() -> SyncResult:
    """Make Stripe's catalogue match Orbit's plans. Idempotent: a second run changes nothing."""
    api = client()
    result = SyncResult()
    for plan in Plan.objects.order_by("sort_order", "code"):
        pid = _product_upsert(api, plan)
        result.products.append(pid)
        wanted = set()
        for interval, cycle in INTERVALS:
            amount = pricing.term_price(plan=plan, cycle=cycle, price_override=None)
            if amount is None or amount <= 0:
                continue
            amount_cents = cents(amount)
            price_id = plan_id(plan, interval, amount_cents)
            wanted.add(price_id)
            try:
                current = as_dict(api.v1.plans.retrieve(price_id))
            except stripe.InvalidRequestError as error:
                if not _missing(error):
                    raise
                api.v1.plans.create(params={
                    "id": price_id, "product": pid, "amount": amount_cents, "currency": CURRENCY,
                    "interval": interval, "nickname": f"{plan.name} ({cycle})",
                    "metadata": {"orbit_plan": plan.code, "orbit_cycle": cycle, "orbit_platform": platform_id()},
                })
                result.plans_created.append(price_id)
                continue
            if not _active(current):
                api.v1.plans.update(price_id, params={"active": True})
            result.plans_kept.append(price_id)
        for existing in api.v1.plans.list(params={"product": pid, "active": True, "limit": 100}).auto_paging_iter():
            if existing.id not in wanted:
                api.v1.plans.update(existing.id, params={"active": False})
                result.plans_deactivated.append(existing.id)
    return result
