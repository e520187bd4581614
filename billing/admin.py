"""Operator admin (platform host, public schema): plans, overrides (editable through the
service), meters and ledger (read-only), alerts (filterable)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from billing import (
    admin_money,  # noqa: F401  (registers the money side's admin)
    periods,
    services,
)
from billing.models import LimitAlert, LimitOverride, Meter, Plan, UsageEvent
from orbit.lib.admin import ReadOnlyAdminMixin


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "price_monthly", "yearly_price", "max_agents", "max_conversations_month",
                    "storage_bytes", "api_requests_per_minute", "api_burst"]
    search_fields = ["code", "name"]

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
    list_display = ["organization", "metric", "period_label", "state", "value", "last_value", "events", "recomputed_at"]
    list_filter = ["state", "metric", "period"]
    search_fields = ["organization__slug", "organization__name"]
    list_select_related = ["organization"]

    @admin.display(description=_("período"), ordering="period")
    def period_label(self, obj):
        return periods.label(obj.period)


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "metric", "quantity", "occurred_at", "ingested_at", "period", "idempotency_key"]
    list_filter = ["metric", "period"]
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
    list_display = ["organization", "metric", "level", "period", "used", "limit", "created_at", "emailed_at"]
    list_filter = [NearLimitFilter, "level", "metric", "period"]
    search_fields = ["organization__slug", "organization__name"]
    list_select_related = ["organization"]
