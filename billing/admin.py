"""Operator admin (platform host, public schema): plans, overrides (editable through the
service), meters and ledger (read-only), alerts (filterable)."""

from __future__ import annotations

from django.contrib import admin
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from billing import (
    admin_money,  # noqa: F401  (registers the money side's admin)
    metrics,
    periods,
    pricing,
    services,
)
from billing.models import LimitAlert, LimitOverride, Meter, Plan, UsageEvent
from orbit.lib.admin import ReadOnlyAdminMixin, titled_filter

# --- for people: GB rather than bytes, grouped numbers, reais, "unlimited" (issue 14) ------


def human(value, metric: str | None = None) -> str:
    """A usage, limit or quota in the active language: GB for storage, a grouped number otherwise."""
    if value is None:
        return str(_("ilimitado"))
    if metric == metrics.STORAGE_BYTES:
        return f"{formats.number_format(value / pricing.GB, 1, use_l10n=True, force_grouping=True)} GB"
    return formats.number_format(value, 0, use_l10n=True, force_grouping=True)


PLAN_LABELS = {
    "code": _("código"), "name": _("nome"), "price_monthly": _("preço mensal (R$)"), "price_yearly": _("preço anual (R$)"),
    "max_agents": _("agentes"), "max_conversations_month": _("conversas por mês"),
    "storage_bytes": _("armazenamento (bytes)"), "features": _("recursos"), "is_public": _("à venda"),
    "sort_order": _("ordem"),
}


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name_label", "monthly", "yearly", "agents", "conversations", "storage", "api_rpm", "api_burst"]
    list_display_links = ["code"]
    search_fields = ["code", "name"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["labels"] = {**PLAN_LABELS, **(kwargs.get("labels") or {})}
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description=_("nome"), ordering="name")
    def name_label(self, obj):
        return obj.name

    @admin.display(description=_("mensal"), ordering="price_monthly")
    def monthly(self, obj):
        return pricing.format_brl(obj.price_monthly) if obj.price_monthly is not None else _("sob consulta")

    @admin.display(description=_("anual"))
    def yearly(self, obj):
        return pricing.format_brl(obj.yearly_price) if obj.yearly_price is not None else _("sob consulta")

    @admin.display(description=_("agentes"), ordering="max_agents")
    def agents(self, obj):
        return human(obj.max_agents)

    @admin.display(description=_("conversas por mês"), ordering="max_conversations_month")
    def conversations(self, obj):
        return human(obj.max_conversations_month)

    @admin.display(description=_("armazenamento"), ordering="storage_bytes")
    def storage(self, obj):
        return human(obj.storage_bytes, metrics.STORAGE_BYTES)

    @admin.display(description=_("requisições de API por minuto"), ordering="api_requests_per_minute")
    def api_rpm(self, obj):
        return human(obj.api_requests_per_minute)

    def save_model(self, request, obj, form, change):
        services.plan_save(plan=obj)  # the organizations on the plan get its limits at once


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(LimitOverride)
class LimitOverrideAdmin(admin.ModelAdmin):
    list_display = ["organization", "metric", "limit", "note", "updated_at"]
    list_filter = ["metric"]
    search_fields = ["organization__slug", "organization__name"]
    autocomplete_fields = []
    raw_id_fields = ["organization"]

    def save_model(self, request, obj, form, change):
        saved = services.limit_override_set(
            organization=obj.organization, metric=obj.metric, limit=obj.limit, note=obj.note
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.limit_override_delete(organization=obj.organization, metric=obj.metric)


@admin.register(Meter)
class MeterAdmin(ReadOnlyAdmin):
    list_display = ["organization", "metric_label", "period_label", "state_label", "value_human", "last_value_human",
                    "events_n", "recomputed_at"]
    list_filter = [titled_filter("state", _("estado")), titled_filter("metric", _("métrica")), titled_filter("period", _("período"))]
    search_fields = ["organization__slug", "organization__name"]
    list_select_related = ["organization"]

    @admin.display(description=_("período"), ordering="period")
    def period_label(self, obj):
        return periods.label(obj.period)

    @admin.display(description=_("métrica"), ordering="metric")
    def metric_label(self, obj):
        return obj.get_metric_display()

    @admin.display(description=_("estado"), ordering="state")
    def state_label(self, obj):
        return {"open": _("aberto"), "closing": _("fechando"), "final": _("final")}.get(obj.state, obj.state)

    @admin.display(description=_("valor (total ou pico)"), ordering="value")
    def value_human(self, obj):
        return human(obj.value, obj.metric)

    @admin.display(description=_("última leitura"), ordering="last_value")
    def last_value_human(self, obj):
        return human(obj.last_value, obj.metric)

    @admin.display(description=_("eventos"), ordering="events")
    def events_n(self, obj):
        return human(obj.events)


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "metric_label", "quantity_human", "occurred_at", "ingested_at", "period_label",
                    "idempotency_key"]
    list_filter = [titled_filter("metric", _("métrica")), titled_filter("period", _("período"))]

    @admin.display(description=_("métrica"), ordering="metric")
    def metric_label(self, obj):
        return obj.get_metric_display()

    @admin.display(description=_("quantidade"), ordering="quantity")
    def quantity_human(self, obj):
        return human(obj.quantity, obj.metric)

    @admin.display(description=_("período"), ordering="period")
    def period_label(self, obj):
        return periods.label(obj.period)
    search_fields = ["idempotency_key", "organization__slug"]
    list_select_related = ["organization"]
    show_full_result_count = False  # the ledger is big: no COUNT(*) per page


class NearLimitFilter(admin.SimpleListFilter):
    title = _("situação")
    parameter_name = "near"

    def lookups(self, request, model_admin):
        return [("soft", _("perto do limite (80–90%)")), ("refused", _("limite atingido")),
                ("open", _("não dispensados"))]

    def queryset(self, request, queryset):
        if self.value() == "soft":
            return queryset.filter(level__in=[LimitAlert.Level.SOFT_80, LimitAlert.Level.SOFT_90])
        if self.value() == "refused":
            return queryset.filter(level=LimitAlert.Level.REFUSED)
        if self.value() == "open":
            return queryset.filter(dismissed_at__isnull=True)
        return queryset


@admin.register(LimitAlert)
class LimitAlertAdmin(ReadOnlyAdmin):
    list_display = ["organization", "metric", "level", "period", "used_human", "limit_human", "created_at", "emailed_at"]
    list_filter = [NearLimitFilter, "level", "metric", "period"]
    search_fields = ["organization__slug", "organization__name"]
    list_select_related = ["organization"]

    @admin.display(description=_("uso"), ordering="used")
    def used_human(self, obj):
        return human(obj.used, obj.metric)

    @admin.display(description=_("limite"), ordering="limit")
    def limit_human(self, obj):
        return human(obj.limit, obj.metric)
