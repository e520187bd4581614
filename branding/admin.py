"""The platform default brand, edited by the operator (public schema). Tenants edit
their own under /settings/brand/; both go through branding.services."""

from django.contrib import admin

from branding.models import Brand


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organization", "primary_color", "show_powered_by", "updated_at"]
    search_fields = ["company_name", "organization__name", "organization__slug"]
    readonly_fields = [f.name for f in Brand._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
