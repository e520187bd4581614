"""Operators: the public schema's users, managed on the platform host's /admin/.

The admin is routed on the platform host only, so these are never a tenant's people."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import connection
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from accounts import twofactor
from accounts.audit import ACTION_GROUPS, AuditFilter, action_label, audit_entries, group_choices
from accounts.models import AuditEntry, User
from accounts.services import UserRefused, audit_export_lines


class OperatorCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)
        field_classes = {"email": forms.EmailField}

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("Já existe um usuário com este e-mail."))
        return email


class OperatorChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"email": forms.EmailField}

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = OperatorChangeForm
    add_form = OperatorCreationForm
    list_display = ["email", "name", "is_staff", "is_superuser", "is_active", "last_login", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name"]
    ordering = ["email"]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["reset_two_factor"]

    @admin.action(description=_("Redefinir a verificação em duas etapas"))
    def reset_two_factor(self, request, queryset):
        done = 0
        for operator in queryset:
            try:
                twofactor.two_factor_reset(user_id=operator.pk, actor=request.user, request=request)
                done += 1
            except UserRefused as refused:
                self.message_user(request, f"{operator.email}: {refused}", level="error")
        if done:
            self.message_user(request, _("%(n)d operador(es): verificação redefinida.") % {"n": done})
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Dados pessoais"), {"fields": ["name", "language"]}),
        (
            _("Permissões"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Datas"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "usable_password", "password1", "password2"],
            },
        ),
        (_("Permissões"), {"fields": ["is_staff", "is_superuser", "is_active"]}),
    ]


class AuditGroupFilter(admin.SimpleListFilter):
    title = _("tipo")
    parameter_name = "group"

    def lookups(self, request, model_admin):
        return group_choices()

    def queryset(self, request, queryset):
        if self.value() in ACTION_GROUPS:
            return audit_entries(filters=AuditFilter(group=self.value())).filter(pk__in=queryset.values("pk"))
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The operators' own log (the public schema): their logins, 2FA, and every change they made
    in this admin, with the organizations concerned (each of which has it in its own log too)."""

    list_display = ["created_at", "label", "actor_email", "tenant", "target", "ip"]
    list_filter = [AuditGroupFilter, "created_at"]
    search_fields = ["actor_email", "target", "tenant", "action"]
    date_hierarchy = "created_at"
    actions = ["export_csv"]
    list_per_page = 50

    @admin.display(description=_("ação"), ordering="action")
    def label(self, obj):
        return action_label(obj.action)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Exportar os selecionados (CSV)"))
    def export_csv(self, request, queryset):

        lines = audit_export_lines(
            filters=AuditFilter(), actor=request.user, request=request, schema=connection.schema_name,
            entries=queryset.order_by("-created_at", "-id"),
        )
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="operator-audit.csv"'
        return response
