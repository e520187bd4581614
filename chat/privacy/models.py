from django.db import models
from django.utils.translation import gettext_lazy as _


class PrivacySettings(models.Model):
    """One row per tenant schema: how long conversations are kept (LGPD retention)."""

    retention_days = models.PositiveIntegerField(
        _("guardar conversas por (dias)"), null=True, blank=True, help_text=_("vazio = para sempre")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("privacidade")
        verbose_name_plural = _("privacidade")

    def __str__(self) -> str:
        return f"retention {self.retention_days or '-'} days"
