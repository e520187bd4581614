from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

SLUG_PATTERN = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
slug_validator = RegexValidator(
    SLUG_PATTERN,
    _("Use 3 a 40 caracteres: letras minúsculas, números e hífens, começando por uma letra."),
)


class Organization(TenantMixin):
    """A tenant: one PostgreSQL schema, in a tree of partners, holdings and companies."""

    class Kind(models.TextChoices):
        PARTNER = "partner", _("Parceiro (revenda)")
        HOLDING = "holding", _("Holding")
        COMPANY = "company", _("Empresa")

    class Status(models.TextChoices):
        TRIAL = "trial", _("Em teste")
        ACTIVE = "active", _("Ativo")
        PAST_DUE = "past_due", _("Pagamento pendente")
        SUSPENDED = "suspended", _("Suspenso")
        CANCELLED = "cancelled", _("Cancelado")

    # Schemas are created by tenants.provisioning (template clone / warm pool), never on save.
    auto_create_schema = False
    auto_drop_schema = True

    name = models.CharField(_("nome"), max_length=200)
    slug = models.CharField(_("identificador"), max_length=40, unique=True, validators=[slug_validator])
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("pai")
    )
    status = models.CharField(_("situação"), max_length=10, choices=Status.choices, default=Status.TRIAL)
    plan = models.ForeignKey("billing.Plan", on_delete=models.PROTECT, related_name="organizations", verbose_name=_("plano"))
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organização")
        verbose_name_plural = _("organizações")

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_blocked(self) -> bool:
        """Suspended and cancelled tenants answer every request with the suspended page."""
        return self.status in (self.Status.SUSPENDED, self.Status.CANCELLED)


class Domain(DomainMixin):
    is_verified = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("domínio")
        verbose_name_plural = _("domínios")


class PoolSchema(models.Model):
    """A pre-cloned, migrated schema waiting to become a tenant by a rename."""

    schema_name = models.CharField(max_length=63, unique=True)
    migration_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.schema_name
