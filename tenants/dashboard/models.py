"""The dashboard's tables, all in the public schema (tenants is a SHARED app).

Written only by tenants.dashboard (snapshots, activity); the dashboard page reads these
and never another schema. Rows keep the organization's id without a database constraint
(and its name and slug): history outlives a deleted organization, and the hot-path
activity writer never waits on another transaction's organization row."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")


def _organization(**kwargs):
    return models.ForeignKey(settings.TENANT_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+", verbose_name=_("organização"), **kwargs)


def _money(verbose_name):
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=ZERO)


class OrganizationDay(models.Model):
    """One organization on one day (in TIME_ZONE): its state as last seen that day (status,
    plan, recurring revenue) and what happened in it that day (from the usage ledger and the
    activity table; recomputed when late events arrive)."""

    day = models.DateField(_("dia"))
    organization = _organization()
    name = models.CharField(_("nome"), max_length=200)
    slug = models.CharField(_("identificador"), max_length=40)
    kind = models.CharField(_("tipo"), max_length=10)
    status = models.CharField(_("situação"), max_length=10)
    parent_id = models.BigIntegerField(_("pai"), null=True, blank=True)
    # who the platform bills for this organization: itself, or the partner that resells it
    payer_id = models.BigIntegerField(_("pagador"), null=True, blank=True)
    plan_code = models.CharField(_("plano"), max_length=50, blank=True)
    cycle = models.CharField(_("ciclo"), max_length=8, blank=True)
    subscription_status = models.CharField(_("assinatura"), max_length=10, blank=True)
    mrr = _money(_("receita mensal recorrente"))
    ever_paid = models.BooleanField(_("já pagou"), default=False)
    created_on = models.DateField(_("criada em"), null=True, blank=True)
    limit_percent = models.PositiveIntegerField(_("maior uso de um limite (%)"), null=True, blank=True)
    messages = models.BigIntegerField(_("mensagens"), default=0)
    conversations = models.BigIntegerField(_("conversas"), default=0)
    visitors = models.BigIntegerField(_("visitantes"), default=0)
    active_agents = models.BigIntegerField(_("agentes ativos"), default=0)
    captured_at = models.DateTimeField(_("estado lido em"))
    usage_at = models.DateTimeField(_("uso contado em"))

    class Meta:
        verbose_name = _("fotografia diária de organização")
        verbose_name_plural = _("fotografias diárias de organizações")
        ordering = ["-day", "organization_id"]
        constraints = [models.UniqueConstraint(fields=["day", "organization"], name="tenants_orgday_unique")]
        indexes = [models.Index(fields=["organization", "-day"], name="tenants_orgday_org_idx")]

    def __str__(self) -> str:
        return f"{self.slug} {self.day}"


class PlatformDay(models.Model):
    """The platform on one day: counts, activity, revenue and its movements since the
    previous snapshot. The dashboard reads a period's rows (at most 367)."""

    day = models.DateField(_("dia"), unique=True)
    tenants = models.PositiveIntegerField(_("organizações"), default=0)
    by_status = models.JSONField(_("por situação"), default=dict)
    by_kind = models.JSONField(_("por tipo"), default=dict)
    new_tenants = models.PositiveIntegerField(_("novas"), default=0)
    churned_tenants = models.PositiveIntegerField(_("canceladas"), default=0)
    trials_started = models.PositiveIntegerField(_("testes iniciados"), default=0)
    trials_converted = models.PositiveIntegerField(_("testes convertidos"), default=0)
    trials_lost = models.PositiveIntegerField(_("testes perdidos"), default=0)
    messages = models.BigIntegerField(_("mensagens"), default=0)
    conversations = models.BigIntegerField(_("conversas"), default=0)
    visitors = models.BigIntegerField(_("visitantes"), default=0)
    active_agents_1d = models.PositiveIntegerField(_("agentes ativos em 24 h"), default=0)
    active_agents_7d = models.PositiveIntegerField(_("agentes ativos em 7 dias"), default=0)
    active_agents_30d = models.PositiveIntegerField(_("agentes ativos em 30 dias"), default=0)
    mrr = _money(_("MRR"))
    customers = models.PositiveIntegerField(_("clientes pagantes"), default=0)
    mrr_new = _money(_("MRR novo"))
    mrr_expansion = _money(_("MRR de expansão"))
    mrr_contraction = _money(_("MRR de contração"))
    mrr_churn = _money(_("MRR cancelado"))
    mrr_reactivation = _money(_("MRR reativado"))
    customers_new = models.PositiveIntegerField(_("clientes novos"), default=0)
    customers_churned = models.PositiveIntegerField(_("clientes perdidos"), default=0)
    customers_reactivated = models.PositiveIntegerField(_("clientes reativados"), default=0)
    near_limit = models.PositiveIntegerField(_("a 80 % de um limite"), default=0)
    at_limit = models.PositiveIntegerField(_("no limite"), default=0)
    computed_at = models.DateTimeField(_("calculada em"))

    class Meta:
        verbose_name = _("fotografia diária da plataforma")
        verbose_name_plural = _("fotografias diárias da plataforma")
        ordering = ["-day"]

    def __str__(self) -> str:
        return str(self.day)


class ActivityDay(models.Model):
    """Who did something in an organization on a day: an agent (by e-mail) or a visitor
    (by contact) who sent a message. One row per (organization, day, kind, actor), upserted
    by tenants.dashboard.activity; `actions` counts the messages."""

    class Kind(models.TextChoices):
        AGENT = "agent", _("Agente")
        VISITOR = "visitor", _("Visitante")

    organization = _organization()
    day = models.DateField(_("dia"))
    kind = models.CharField(_("tipo"), max_length=8, choices=Kind.choices)
    actor = models.CharField(_("quem"), max_length=254)
    actions = models.PositiveIntegerField(_("ações"), default=0)
    first_at = models.DateTimeField(_("primeira"))
    last_at = models.DateTimeField(_("última"))

    class Meta:
        verbose_name = _("atividade diária")
        verbose_name_plural = _("atividade diária")
        constraints = [
            models.UniqueConstraint(fields=["organization", "day", "kind", "actor"], name="tenants_activity_unique"),
        ]
        indexes = [models.Index(fields=["day", "kind"], name="tenants_activity_day_idx")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.kind} {self.actor}"


class AcquisitionCost(models.Model):
    """What the platform spent acquiring customers in a month (marketing, sales): the
    operator keeps one entry per month in the admin; CAC divides it by the new customers."""

    month = models.DateField(_("mês"), unique=True, help_text=_("o primeiro dia do mês"))
    amount = models.DecimalField(_("valor (R$)"), max_digits=14, decimal_places=2)
    note = models.CharField(_("observação"), max_length=200, blank=True)
    updated_by = models.CharField(_("alterado por"), max_length=254, blank=True)
    updated_at = models.DateTimeField(_("alterado em"), auto_now=True)

    class Meta:
        verbose_name = _("custo de aquisição")
        verbose_name_plural = _("custos de aquisição")
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="tenants_acquisition_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%m/%Y}"
