"""How a subscription's status shows on the organization, and who hears of the change.

Billing owns the rule (which subscription status puts the organization in which status) and
writes the organization's `status` in the same transaction as the subscription. What only an
upper app can do (tenants: refresh its host-routing cache, which holds the organization) is
registered here once, by that app's AppConfig.ready(); it runs after commit. This is the
composition wiring DESIGN.md asks for when a reaction crosses upward, not a signal: one
explicit list, called only by billing's services."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_tenant_model

from billing.models import Subscription

logger = logging.getLogger(__name__)

_changed_hooks: list[Callable[[int], None]] = []

# Subscription status → organization status.
ORGANIZATION_STATUS = {
    Subscription.Status.TRIALING: "trial",
    Subscription.Status.ACTIVE: "active",
    Subscription.Status.PAST_DUE: "past_due",
    Subscription.Status.GRACE: "past_due",
    Subscription.Status.SUSPENDED: "suspended",
    Subscription.Status.CANCELLED: "cancelled",
}
# An organization the operator blocked by hand is left alone unless billing blocked it.
_HAND_BLOCKED = ("suspended", "cancelled")


def on_organization_changed(hook: Callable[[int], None]) -> None:
    """Register `hook(organization_id)`, called after commit whenever billing changed the
    organization row (status or plan). Registered once per process by an upper app."""
    if hook not in _changed_hooks:
        _changed_hooks.append(hook)


def organization_changed(organization_id: int) -> None:
    """Tell the registered hooks, after the current transaction commits."""

    def run():
        for hook in _changed_hooks:
            try:
                hook(organization_id)
            except Exception:  # a cache refresh must not undo a committed payment
                logger.warning("organization-changed hook failed for %s", organization_id, exc_info=True)

    transaction.on_commit(run)


def follow(*, subscription: Subscription, previous: str) -> None:
    """Put the organization in the status its subscription's new status calls for."""
    if subscription.status == previous:
        return
    Organization = get_tenant_model()
    current = Organization.objects.filter(pk=subscription.organization_id).values_list("status", flat=True).first()
    if current is None:
        return
    if current in _HAND_BLOCKED and previous != Subscription.Status.SUSPENDED \
            and subscription.status != Subscription.Status.SUSPENDED:
        return
    target = ORGANIZATION_STATUS[subscription.status]
    if current != target:
        Organization.objects.filter(pk=subscription.organization_id).update(
            status=target, status_changed_at=timezone.now()
        )
        organization_changed(subscription.organization_id)


def set_status(subscription: Subscription, status: str, **fields) -> None:
    """Move a (locked) subscription to `status`, with `fields`, and its organization with it."""
    previous = subscription.status
    subscription.status = status
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.save()
    follow(subscription=subscription, previous=previous)
