"""Admin pieces shared by the apps' operator admins."""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdminMixin:
    """For a ModelAdmin or an inline: shown, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def titled_filter(field: str, title, base=None):
    """("field", filter) for list_filter: the filter Django would pick for the field (or
    `base`), under a translated title when the field's own verbose name is not."""

    def named(cls):
        class Titled(cls):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.title = title

        return Titled

    class Filter(admin.FieldListFilter):
        def __new__(cls, field_obj, request, params, model, model_admin, field_path):
            chosen = base or next(f for test, f in admin.FieldListFilter._field_list_filters if test(field_obj))
            return named(chosen)(field_obj, request, params, model, model_admin, field_path)

    return (field, Filter)
