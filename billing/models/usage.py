"""Usage tables, all in the public schema (billing is a SHARED_APP).

Plans and per-organization limit overrides; the usage ledger (the truth) and the meters
recomputed from it; limit alerts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing import metrics, periods


class Plan(models.Model):
    """A commercial plan. A limit of None means unlimited, stated explicitly."""

    class Feature(models.TextChoices):
        AUDIO = "audio", _("Áudio")
        FILES = "files", _("Arquivos")
        ANALYTICS = "analytics", _("Relatórios")
        API = "api", _("API")
        WHITE_LABEL = "white_label", _("White-label")

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    price_monthly = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text=_("BRL; vazio = sob consulta")
    )
    price_yearly = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    yearly_discount_percent = models.DecimalField(
        _("desconto anual (%)"), max_digits=5, decimal_places=2, default=Decimal("0"),
        help_text=_("usado quando o preço anual está vazio: 12 × mensal − desconto"),
    )
    max_agents = models.PositiveIntegerField(null=True, blank=True, help_text=_("vazio = ilimitado"))
    max_conversations_month = models.PositiveIntegerField(null=True, blank=True, help_text=_("vazio = ilimitado"))
    storage_bytes = models.PositiveBigIntegerField(null=True, blank=True, help_text=_("vazio = ilimitado"))
    api_requests_per_minute = models.PositiveIntegerField(
        _("requisições de API por minuto"), null=True, blank=True, help_text=_("vazio = ilimitado")
    )
    api_burst = models.PositiveIntegerField(
        _("rajada de API"), null=True, blank=True,
        help_text=_("requisições numa janela curta (BILLING_BURST_WINDOW_SECONDS); vazio = ilimitado"),
    )
    max_upload_bytes = models.PositiveBigIntegerField(
        _("tamanho máximo de um arquivo (bytes)"), null=True, blank=True,
        help_text=_("vazio = o teto da plataforma (ORBIT_CHAT_MAX_UPLOAD_BYTES)"),
    )
    # Overage, priced per unit beyond the plan's quota (billing.pricing): empty = not sold.
    overage_conversation_price = models.DecimalField(
        _("conversa excedente (R$)"), max_digits=10, decimal_places=4, null=True, blank=True
    )
    overage_gb_price = models.DecimalField(_("GB excedente (R$/mês)"), max_digits=10, decimal_places=2, null=True, blank=True)
    overage_seat_price = models.DecimalField(
        _("agente excedente (R$/mês)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    trial_days = models.PositiveSmallIntegerField(_("dias de teste"), default=14)
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

    def limit_for(self, metric: str) -> int | None:
        """The plan's quota for a metric; None (metrics.UNLIMITED) when there is none."""
        field = metrics.PLAN_LIMIT_FIELDS.get(metric)
        return getattr(self, field) if field else metrics.UNLIMITED

    @property
    def yearly_price(self) -> Decimal | None:
        """The yearly price: the explicit one, else 12 months less the yearly discount;
        None when the plan is priced on request."""
        if self.price_yearly is not None:
            return self.price_yearly
        if self.price_monthly is None:
            return None
        full = self.price_monthly * 12
        return (full * (100 - self.yearly_discount_percent) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def yearly_savings(self) -> Decimal | None:
        yearly = self.yearly_price
        if yearly is None or self.price_monthly is None:
            return None
        return self.price_monthly * 12 - yearly


class LimitOverride(models.Model):
    """An operator's per-organization limit for one metric, replacing the plan's.

    `limit` empty means unlimited. For a partner or holding, its effective limit (plan
    or override) also caps its whole tree: itself plus every descendant together."""

    organization = models.ForeignKey(
        settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="limit_overrides", verbose_name=_("organização")
    )
    metric = models.CharField(_("métrica"), max_length=32, choices=metrics.CHOICES)
    limit = models.PositiveBigIntegerField(_("limite"), null=True, blank=True, help_text=_("vazio = ilimitado"))
    note = models.CharField(_("observação"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "metric"], name="billing_override_unique")]
        verbose_name = _("limite personalizado")
        verbose_name_plural = _("limites personalizados")

    def __str__(self) -> str:
        return f"{self.organization_id} {self.metric} = {'∞' if self.limit is None else self.limit}"


class UsageEvent(models.Model):
    """One billable event. Written only by billing.meters (INSERT … ON CONFLICT DO NOTHING
    on the idempotency key); never updated. `period` is the attributed period (see
    billing.periods: the period open at ingest time)."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32, choices=metrics.CHOICES)
    quantity = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    ingested_at = models.DateTimeField()
    period = models.DateField()
    # Unique by a constraint, not unique=True: the field option also builds a LIKE
    # (varchar_pattern_ops) index, which no query uses and every event would pay for.
    idempotency_key = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["period", "organization", "metric"], name="billing_usage_period_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="billing_usageevent_idempotency_key_key"),
        ]
        verbose_name = _("evento de uso")
        verbose_name_plural = _("eventos de uso")

    def __str__(self) -> str:
        return f"{self.metric} ×{self.quantity} @{self.organization_id}"


class Meter(models.Model):
    """A period's total for one organization and metric, recomputed from the ledger.

    Counters: value = sum. Gauges: value = max (peak), last_value = the latest reading."""

    organization = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32, choices=metrics.CHOICES)
    period = models.DateField()
    state = models.CharField(
        max_length=8, choices=[(s, s) for s in periods.STATES], default=periods.OPEN
    )
    value = models.BigIntegerField(default=0)
    last_value = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    recomputed_at = models.DateTimeField(null=True, blank=True)
    finalized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "metric", "period"], name="billing_meter_unique"),
        ]
        indexes = [models.Index(fields=["period", "state"], name="billing_meter_state_idx")]
        ordering = ["-period", "organization_id", "metric"]
        verbose_name = _("medidor")
        verbose_name_plural = _("medidores")

    def __str__(self) -> str:
        return f"{self.organization_id} {self.metric} {periods.label(self.period)} = {self.value}"

    @property
    def current(self) -> int:
        """What counts against a limit: the sum for counters, the last reading for gauges."""
        return self.last_value if metrics.is_gauge(self.metric) else self.value


class LimitAlert(models.Model):
    """A limit crossed (80 %, 90 %, or refused at 100 %), at most once per
    organization, metric, period and level."""

    class Level(models.TextChoices):
        SOFT_80 = "soft_80", _("80% do limite")
        SOFT_90 = "soft_90", _("90% do limite")
        REFUSED = "refused", _("limite atingido")

    organization = models.ForeignKey(
        settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("organização")
    )
    metric = models.CharField(_("métrica"), max_length=32, choices=metrics.CHOICES)
    period = models.DateField(_("período"))
    level = models.CharField(_("nível"), max_length=8, choices=Level.choices)
    used = models.BigIntegerField(_("uso"))
    limit = models.BigIntegerField(_("limite"))
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(_("e-mail enviado em"), null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "metric", "period", "level"], name="billing_alert_once_per_period"
            ),
        ]
        ordering = ["-created_at"]
        verbose_name = _("alerta de limite")
        verbose_name_plural = _("alertas de limite")

    def __str__(self) -> str:
        return f"{self.organization_id} {self.metric} {self.level} {periods.label(self.period)}"

    @property
    def percent(self) -> int:
        return int(self.used * 100 / self.limit) if self.limit else 100
