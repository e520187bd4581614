"""Brands live in the public schema, keyed by organization (none = the platform default),
so a tenant's effective brand is read from its ancestors' rows without touching any
other tenant's schema. An empty field inherits from the level above."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Brand(models.Model):
    organization = models.ForeignKey(
        settings.TENANT_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="brands",
        verbose_name=_("organização"),
        help_text=_("vazio = padrão da plataforma"),
    )
    company_name = models.CharField(_("nome da empresa"), max_length=100, blank=True)
    # Storage names (branding.storage builds them: whitelabel/<schema>/…), checked bytes only.
    logo = models.CharField(_("logotipo"), max_length=255, blank=True)
    logo_content_type = models.CharField(max_length=40, blank=True)
    favicon = models.CharField(_("favicon"), max_length=255, blank=True)
    favicon_content_type = models.CharField(max_length=40, blank=True)
    primary_color = models.CharField(_("cor principal"), max_length=7, blank=True)
    secondary_color = models.CharField(_("cor secundária"), max_length=7, blank=True)
    custom_css = models.TextField(_("CSS personalizado"), blank=True, help_text=_("já sanitizado"))
    email_sender_name = models.CharField(_("nome do remetente dos e-mails"), max_length=100, blank=True)
    email_reply_to = models.EmailField(_("responder para"), blank=True)
    widget_greeting = models.CharField(_("saudação do widget"), max_length=300, blank=True)
    widget_offline_message = models.CharField(_("mensagem fora do horário"), max_length=500, blank=True)
    show_powered_by = models.BooleanField(
        _("mostrar “powered by”"), null=True, blank=True, help_text=_("vazio = herdar")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("marca")
        verbose_name_plural = _("marcas")
        constraints = [
            # One row per organization and exactly one platform default (NULL counts once).
            models.UniqueConstraint(fields=["organization"], nulls_distinct=False, name="branding_one_brand_per_org"),
        ]

    def __str__(self) -> str:
        return self.company_name or str(self.organization or _("padrão da plataforma"))
