"""Admin pieces shared by the apps' operator admins."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """For a ModelAdmin or an inline: shown, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
