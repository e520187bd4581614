"""Reads of the current schema's people and audit log."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts.audit import ACTION_LABELS, AuditFilter, action_label, audit_entries
from accounts.models import ApiToken, AuditEntry

User = get_user_model()

AUDIT_ACTION_LABELS = ACTION_LABELS  # every action's label, both languages (accounts.audit)


def user_list(*, include_inactive: bool = True) -> QuerySet:
    """The tenant's people (never the partner's support identities), admins first."""
    qs = User.objects.exclude(role=User.Role.SUPPORT)
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("-is_active", "role", "email")


def user_get(*, user_id: int):
    """Raises User.DoesNotExist, also for support identities."""
    return User.objects.exclude(role=User.Role.SUPPORT).get(pk=user_id)


def seats_used() -> int:
    return User.objects.filter(is_active=True).exclude(role=User.Role.SUPPORT).count()


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """The person's own tokens, newest first (nobody sees another person's)."""
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")


def audit_list(*, filters: AuditFilter | None = None) -> QuerySet[AuditEntry]:
    """The current schema's audit log, newest first (filters: accounts.audit.audit_filter_parse)."""
    return audit_entries(filters=filters)


def audit_action_label(action: str) -> str:
    return action_label(action)
