"""Reads of the current schema's people and audit log."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken, AuditEntry

User = get_user_model()

AUDIT_ACTION_LABELS = {
    "support.enter": _("Acesso de suporte do parceiro"),
    "user.invite": _("Pessoa convidada"),
    "user.role": _("Papel alterado"),
    "user.deactivate": _("Acesso desativado"),
    "user.reactivate": _("Acesso reativado"),
    "brand.update": _("Marca alterada"),
    "brand.reset": _("Marca redefinida"),
    "domain.add": _("Domínio adicionado"),
    "domain.verify": _("Domínio verificado"),
    "domain.remove": _("Domínio removido"),
    "support.issue": _("Acesso de suporte emitido para um cliente"),
    "client.create": _("Cliente criado"),
    "client.suspend": _("Cliente suspenso"),
    "client.activate": _("Cliente reativado"),
    "api_token.create": _("Token de API criado"),
    "api_token.revoke": _("Token de API revogado"),
}


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


def audit_list() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.all()


def audit_action_label(action: str) -> str:
    return str(AUDIT_ACTION_LABELS.get(action, action))
