"""What the organization's plan allows chat (its features, its file size)."""

from __future__ import annotations

from django.conf import settings

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def plan_has_feature(organization, feature: str) -> bool:
    plan = getattr(organization, "plan", None)
    return plan is not None and plan.has_feature(feature)


def max_upload_bytes(organization) -> int:
    """The largest file this tenant may send: its plan's size, under the platform's ceiling
    (ORBIT_CHAT_MAX_UPLOAD_BYTES, what the proxy and server accept at all)."""
    ceiling = int(getattr(settings, "ORBIT_CHAT_MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES))
    plan_limit = getattr(getattr(organization, "plan", None), "max_upload_bytes", None)
    return min(ceiling, plan_limit) if plan_limit else ceiling
