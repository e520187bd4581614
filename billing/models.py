from django.db import models
from django.utils.translation import gettext_lazy as _


class Plan(models.Model):
    """A commercial plan. A limit of None means unlimited, stated explicitly."""

    class Feature(models.TextChoices):
        AUDIO = "audio", _("Áudio")
        FILES = "files", _("Arquivos")
        VIDEO = "video", _("Vídeo")
        ANALYTICS = "analytics", _("Relatórios")
        API = "api", _("API")
        WHITE_LABEL = "white_label", _("White-label")

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    price_monthly = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text=_("BRL; vazio = sob consulta")
    )
    price_yearly = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    max_agents = models.PositiveIntegerField(null=True, blank=True, help_text=_("vazio = ilimitado"))
    max_conversations_month = models.PositiveIntegerField(null=True, blank=True, help_text=_("vazio = ilimitado"))
    storage_bytes = models.PositiveBigIntegerField(null=True, blank=True, help_text=_("vazio = ilimitado"))
    features = models.JSONField(default=list, blank=True)
    is_public = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("plano")
        verbose_name_plural = _("planos")

    def __str__(self) -> str:
        return self.name

    def has_feature(self, feature: str) -> bool:
        return feature in self.features
