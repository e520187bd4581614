"""Metering and plan limits for chat, through billing's public API (meters, limits).

Every function takes the organization it meters or checks: nothing here reads the
connection's tenant. Idempotency keys are deterministic per billable thing, so a retried
service call (or a resent message) never counts twice."""

from __future__ import annotations

from django.db.models import Sum

from billing import limits, meters, metrics
from chat.models import Attachment
from orbit.lib.errors import OrbitError


class LimitReached(OrbitError):
    """The plan refuses this; nothing was stored. `reason` is translated for the user."""

    status = 403

    def __init__(self, reason: str, code: str = "limit_reached"):
        super().__init__(reason, code=code)
        self.reason = reason


def require_conversation(*, organization) -> None:
    result = limits.check(organization, metrics.CONVERSATION_STARTED, 1)
    if not result.allowed:
        raise LimitReached(result.reason, result.code)


def require_storage(*, organization, size: int) -> None:
    result = limits.check(organization, metrics.STORAGE_BYTES, size)
    if not result.allowed:
        raise LimitReached(result.reason, result.code)


def record_conversation(*, organization, conversation_id: int) -> None:
    meters.record(
        organization=organization,
        metric=metrics.CONVERSATION_STARTED,
        idempotency_key=f"conv:{organization.pk}:{conversation_id}",
    )


def message_meter(*, organization, now):
    """The message's ledger row, for the send statement (one row per stored message)."""
    return meters.keyed_insert(organization=organization, metric=metrics.MESSAGE,
                               key_prefix=f"msg:{organization.pk}:", source="ins", now=now)


def record_storage_total(*, organization, attachment_id: int) -> None:
    """After new attachments are stored: meter the tenant's new total (storage_bytes is a
    gauge: the reading is the total after this upload)."""
    total = Attachment.objects.aggregate(total=Sum("size"))["total"] or 0
    meters.record(
        organization=organization,
        metric=metrics.STORAGE_BYTES,
        quantity=total,
        idempotency_key=f"storage:{organization.pk}:att{attachment_id}",
    )


__all__ = ["LimitReached", "message_meter", "record_conversation", "record_storage_total", "require_conversation",
           "require_storage"]
