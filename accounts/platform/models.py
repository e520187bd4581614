"""Public schema only: what one organization requires of its people and its clients."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TwoFactorPolicy(models.Model):
    """`require_all`: everyone of this organization needs two-factor authentication (set by
    its owner). `require_clients`: everyone of every client of this partner does (set by the
    partner's owner); a client's requirement follows its partner's setting."""

    organization = models.OneToOneField(
        settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="two_factor_policy"
    )
    require_all = models.BooleanField(_("exigir de todos"), default=False)
    require_clients = models.BooleanField(_("exigir dos clientes"), default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=254, blank=True)

    class Meta:
        verbose_name = _("política de verificação em duas etapas")
        verbose_name_plural = _("políticas de verificação em duas etapas")

    def __str__(self) -> str:
        return f"{self.organization_id}: all={self.require_all} clients={self.require_clients}"
