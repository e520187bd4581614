from django.contrib import admin

from billing.models import Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "price_monthly", "max_agents", "max_conversations_month", "storage_bytes"]
    search_fields = ["code", "name"]
