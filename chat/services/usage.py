"""Metering and plan limits for chat, through billing's public API (meters, limits).

Idempotency keys are deterministic per billable thing, so a retried service call (or a
resent message) never counts twice."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_tenant_model

from billing import limits, meters, metrics


class LimitReached(Exception):
    """The plan refuses this; nothing was stored. `reason` is translated for the user."""

    def __init__(self, reason: str, code: str = "limit_reached"):
        super().__init__(reason)
        self.reason = reason
        self.code = code


def organization():
    """The tenant the connection is in (set by the middleware, the consumer or the task)."""
    tenant = connection.tenant
    if getattr(tenant, "pk", None) is None:  # schema_context() sets a stand-in without a row
        tenant = get_tenant_model().objects.get(schema_name=connection.schema_name)
        connection.tenant = tenant
    return tenant


def require_conversation() -> None:
    result = limits.check(organization(), metrics.CONVERSATION_STARTED, 1)
    if not result.allowed:
        raise LimitReached(result.reason, result.code)


def require_storage(*, size: int) -> None:
    result = limits.check(organization(), metrics.STORAGE_BYTES, size)
    if not result.allowed:
        raise LimitReached(result.reason, result.code)


def plan_has_feature(feature: str) -> bool:
    plan = getattr(organization(), "plan", None)
    return plan is not None and plan.has_feature(feature)


def record_conversation(*, conversation_id: int) -> None:
    org = organization()
    meters.record(
        organization=org,
        metric=metrics.CONVERSATION_STARTED,
        idempotency_key=f"conv:{org.pk}:{conversation_id}",
    )


def record_message(*, message_id: int) -> None:
    org = organization()
    meters.record(organization=org, metric=metrics.MESSAGE, idempotency_key=f"msg:{org.pk}:{message_id}")


def message_meter(*, now, org=None):
    """The message's ledger row, for message_send's own statement (one row per stored message,
    keyed like record_message). org: the tenant, when not the connection's (the event loop)."""
    org = org if org is not None else organization()
    return meters.keyed_insert(organization=org, metric=metrics.MESSAGE, key_prefix=f"msg:{org.pk}:", source="ins", now=now)


def record_storage(*, total_bytes: int, attachment_id: int) -> None:
    """storage_bytes is a gauge: the reading is the tenant's total after this upload."""
    org = organization()
    meters.record(
        organization=org,
        metric=metrics.STORAGE_BYTES,
        quantity=total_bytes,
        idempotency_key=f"storage:{org.pk}:att{attachment_id}",
    )


def record_storage_total(*, attachment_id: int) -> None:
    """After new attachments are stored: meter the tenant's new total (a gauge reading)."""
    from django.db.models import Sum

    from chat.models import Attachment

    total = Attachment.objects.aggregate(total=Sum("size"))["total"] or 0
    record_storage(total_bytes=total, attachment_id=attachment_id)
