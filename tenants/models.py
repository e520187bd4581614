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
    """A host that routes to its tenant. `<slug>.<base>` is created verified; a custom
    domain added by a tenant starts unverified and routes only once its DNS TXT token
    is found (tenants.services.domain_verify). `*.host` (partners and holdings only)
    routes `<client slug>.host` to that client."""

    is_verified = models.BooleanField(default=False)
    verification_token = models.CharField(max_length=64, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def is_wildcard(self) -> bool:
        return self.domain.startswith("*.")

    @property
    def bare_host(self) -> str:
        return self.domain[2:] if self.is_wildcard else self.domain

    @property
    def txt_record_name(self) -> str:
        return f"_orbit.{self.bare_host}"

    @property
    def txt_record_value(self) -> str:
        return f"orbit-verify={self.verification_token}"

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


class SupportGrant(models.Model):
    """A partner's one-time, short-lived permission to enter one of its clients as
    support. The token itself is never stored, only its hash."""

    partner = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="support_grants_issued")
    client = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="support_grants")
    issued_by_email = models.CharField(max_length=254)
    issued_by_name = models.CharField(max_length=150, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"support {self.partner_id} → {self.client_id} by {self.issued_by_email}"


class BulkImport(models.Model):
    """A partner's CSV of new clients, created row by row by a Celery task; the page
    polls `processed` for its progress bar."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Na fila")
        RUNNING = "running", _("Em andamento")
        DONE = "done", _("Concluída")

    partner = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="bulk_imports")
    created_by_email = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows = models.JSONField(default=list)  # [{"number": 2, "fields": {...}}, ...]
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list)  # [{"row": 2, "ok": true, "slug": "...", "error": ""}]
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} for {self.partner_id}: {self.processed}/{self.total}"

    @property
    def percent(self) -> int:
        return int(self.processed * 100 / self.total) if self.total else 100

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.results if not r.get("ok")]

    @property
    def created_count(self) -> int:
        return sum(1 for r in self.results if r.get("ok"))


class BackupRecord(models.Model):
    """A tenant backup that was stored (tenants.data.backup): the backup itself is files in
    storage; this public row lets the operator's dashboard tell the last one without listing
    every tenant's storage."""

    # deleting a tenant deletes its backups (its storage prefix), and so these rows
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    schema_name = models.CharField(max_length=63)
    backup_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"backup {self.backup_id} of {self.schema_name}"


# The operator dashboard's snapshot tables (issue 14) live beside the code that writes them.
from tenants.dashboard.models import AcquisitionCost, ActivityDay, OrganizationDay, PlatformDay  # noqa: E402,F401
