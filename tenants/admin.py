"""The operator's view of the tenants, on the platform host's /admin/ (public schema).

Thin entry points: every write goes through tenants.services, so schemas are
provisioned and dropped, the tree rules hold and the host cache is invalidated."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import password_validation
from django.db.models import Count, OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orbit.lib.admin import ReadOnlyAdminMixin
from tenants.dashboard.services import ActionRefused, operator_reactivate, operator_suspend
from tenants.models import Domain, Organization, PoolSchema
from tenants.services import (
    PARENT_KINDS,
    ProvisioningError,
    organization_create,
    organization_delete,
    organization_update,
)

# --- filters ----------------------------------------------------------------------------


class TreePositionFilter(admin.SimpleListFilter):
    title = _("posição na árvore")
    parameter_name = "tree"

    def lookups(self, request, model_admin):
        return [("top", _("Nível superior")), ("child", _("Tem pai"))]

    def queryset(self, request, queryset):
        if self.value() == "top":
            return queryset.filter(parent__isnull=True)
        if self.value() == "child":
            return queryset.filter(parent__isnull=False)
        return queryset


# --- forms ------------------------------------------------------------------------------


def _parent_choices(exclude_pk=None):
    qs = Organization.objects.filter(kind__in=PARENT_KINDS).order_by("name")
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs


class OrganizationCreationForm(forms.ModelForm):
    """Validated here, created by tenants.services.organization_create.

    The service runs once the whole form is valid, inside the admin view's transaction:
    a refusal becomes a form error and leaves no schema, row or domain behind."""

    owner_email = forms.EmailField(label=_("e-mail do proprietário"))
    owner_password = forms.CharField(
        label=_("senha do proprietário"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    domain = forms.CharField(
        label=_("domínio próprio"),
        required=False,
        max_length=253,
        help_text=_("Opcional. O subdomínio <identificador>.<domínio base> é criado sempre."),
    )

    class Meta:
        model = Organization
        fields = ["name", "slug", "kind", "parent", "plan", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = _("Opcional: derivado do nome. Também nomeia o schema e o subdomínio.")
        self.fields["parent"].queryset = _parent_choices()

    def clean_owner_password(self):
        password = self.cleaned_data["owner_password"]
        password_validation.validate_password(password)
        return password

    def _post_clean(self):
        super()._post_clean()  # model validation: slug pattern and uniqueness, choices
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.instance = organization_create(
                name=data["name"],
                slug=data.get("slug") or None,
                kind=data["kind"],
                parent=data.get("parent"),
                plan=data["plan"],
                status=data["status"],
                domain=data.get("domain") or None,
                owner_email=data["owner_email"],
                owner_password=data["owner_password"],
            )
        except ProvisioningError as exc:
            self.add_error(None, str(exc))


class OrganizationChangeForm(forms.ModelForm):
    """Validated here, saved by tenants.services.organization_update (tree rules, cache)."""

    class Meta:
        model = Organization
        fields = ["name", "kind", "parent", "plan", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "parent" in self.fields:
            self.fields["parent"].queryset = _parent_choices(exclude_pk=self.instance.pk)

    def _post_clean(self):
        super()._post_clean()
        if self.errors or not self.has_changed():
            return
        data = self.cleaned_data
        try:
            self.instance = organization_update(
                organization=self.instance,  # the service reads the row again, locked
                name=data["name"],
                kind=data["kind"],
                parent=data.get("parent"),
                plan=data["plan"],
                status=data["status"],
            )
        except ProvisioningError as exc:
            self.add_error(None, str(exc))


# --- admins -----------------------------------------------------------------------------


class DomainInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Read-only: domains change through tenants.services (the host cache follows them)."""

    model = Domain
    fields = ["host", "primary", "verified"]
    readonly_fields = fields
    extra = 0
    verbose_name = _("domínio")
    verbose_name_plural = _("domínios")

    @admin.display(description=_("domínio"))
    def host(self, obj):
        return obj.domain

    @admin.display(description=_("principal"), boolean=True)
    def primary(self, obj):
        return obj.is_primary

    @admin.display(description=_("verificado"), boolean=True)
    def verified(self, obj):
        return obj.is_verified
    can_delete = False
    show_change_link = False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "overview_link",
        "slug",
        "kind",
        "status",
        "plan",
        "parent",
        "children_count",
        "primary_domain",
        "created_label",
    ]
    list_filter = ["kind", "status", "plan", TreePositionFilter]
    search_fields = ["name", "slug", "domains__domain"]
    list_select_related = ["plan", "parent"]
    ordering = ["name"]
    actions = ["suspend_selected", "activate_selected"]
    inlines = [DomainInline]
    change_form_template = "admin/tenants/organization/change_form.html"
    form = OrganizationChangeForm
    add_form = OrganizationCreationForm
    readonly_fields = ["slug", "schema", "children_links", "created_label", "status_changed_label"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "schema", "kind", "status", "plan"]}),
        (_("Árvore"), {"fields": ["parent", "children_links"]}),
        (_("Datas"), {"fields": ["created_label", "status_changed_label"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "parent", "plan", "status"]}),
        (_("Domínio"), {"fields": ["domain"]}),
        (_("Proprietário"), {"fields": ["owner_email", "owner_password"]}),
    ]

    def get_queryset(self, request):
        primary = Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).values("domain")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(children_total=Count("children", distinct=True), primary_domain_name=Subquery(primary))
        )

    # the per-tenant page and its actions (tenants.admin_dashboard)

    def get_urls(self):

        return [
            path("<path:object_id>/overview/",
                 admin_dashboard.operator_view(self, lambda request, object_id:
                                               admin_dashboard.overview_view(self, request, object_id)),
                 name="tenants_organization_overview"),
            path("<path:object_id>/act/<slug:action>/",
                 admin_dashboard.operator_view(self, lambda request, object_id, action:
                                               admin_dashboard.action_view(self, request, object_id, action)),
                 name="tenants_organization_act"),
        ] + super().get_urls()

    @admin.display(description=_("painel"))
    def overview_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:tenants_organization_overview", args=[obj.pk]),
                           _("abrir"))

    # forms: the add form creates through the service; the change form updates through one

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        """Nothing left to save: the form's service call did it (see the forms above)."""

    # deletion: the schema goes with the row

    def delete_model(self, request, obj):
        organization_delete(organization=obj)

    def get_deleted_objects(self, objs, request):
        """An organization's public rows go with it, those no one deletes by hand too
        (billing's ledger, meters, alerts, subscription, credits: organization_delete drops
        them): they ask no delete permission of their own, which their admins refuse."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        never_by_hand = {str(model._meta.verbose_name) for model, model_admin in self.admin_site._registry.items()
                         if isinstance(model_admin, ReadOnlyAdminMixin) or not model_admin.has_delete_permission(request)}
        return deleted, counts, perms_needed - never_by_hand, protected

    def delete_queryset(self, request, queryset):
        def depth(org):
            n, seen = 0, set()
            while org.parent_id is not None and org.pk not in seen:
                seen.add(org.pk)
                org, n = org.parent, n + 1
            return n

        # children before their parents
        for organization in sorted(queryset.select_related("parent"), key=depth, reverse=True):
            try:
                organization_delete(organization=organization)
            except ProvisioningError as exc:
                self.message_user(request, str(exc), messages.ERROR)

    # list columns

    @admin.display(description=_("criada em"), ordering="created_at")
    def created_label(self, obj):
        return obj.created_at

    @admin.display(description=_("situação mudou em"))
    def status_changed_label(self, obj):
        return obj.status_changed_at or "—"

    @admin.display(description=_("schema"))
    def schema(self, obj):
        return obj.schema_name

    @admin.display(description=_("filhos"), ordering="children_total")
    def children_count(self, obj):
        return obj.children_total

    @admin.display(description=_("domínio principal"), ordering="primary_domain_name")
    def primary_domain(self, obj):
        return obj.primary_domain_name or "-"

    @admin.display(description=_("filhos"))
    def children_links(self, obj):
        children = obj.children.order_by("name") if obj.pk else []
        if not children:
            return "-"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a> · {} · {}</li>',
                (
                    (
                        reverse("admin:tenants_organization_change", args=[child.pk]),
                        child.name,
                        child.get_kind_display(),
                        child.get_status_display(),
                    )
                    for child in children
                ),
            ),
        )

    # actions: a confirmation page stating the consequence, then one audited service call per organization

    def _confirm_each(self, request, queryset, *, action: str, title, consequence, service, done_message):
        if request.POST.get("confirmed") != "yes":
            return TemplateResponse(request, "admin/tenants/organization/confirm_bulk.html", {
                **self.admin_site.each_context(request), "title": title, "consequence": consequence,
                "objects": list(queryset), "action": action, "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            })
        count = 0
        for organization in queryset:
            try:
                service(organization=organization, actor=request.user)
            except ActionRefused as refused:
                self.message_user(request, f"{organization.name}: {refused}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done_message(count) % {"count": count}, messages.SUCCESS)
        return None

    @admin.action(description=_("Suspender selecionadas"), permissions=["change"])
    def suspend_selected(self, request, queryset):
        return self._confirm_each(
            request, queryset, action="suspend_selected", title=_("Suspender selecionadas"),
            consequence=_("As páginas, a API e o widget de cada organização escolhida passam a responder “conta "
                          "suspensa”; os dados, a assinatura e as faturas ficam. Só um operador reativa."),
            service=operator_suspend,
            done_message=lambda n: ngettext("%(count)d organização suspensa.", "%(count)d organizações suspensas.", n))

    @admin.action(description=_("Ativar selecionadas"), permissions=["change"])
    def activate_selected(self, request, queryset):
        return self._confirm_each(
            request, queryset, action="activate_selected", title=_("Ativar selecionadas"),
            consequence=_("Cada organização escolhida volta a funcionar na hora, na situação que a assinatura dela "
                          "indica. Uma assinatura suspensa pela cobrança só volta com o pagamento."),
            service=operator_reactivate,
            done_message=lambda n: ngettext("%(count)d organização ativada.", "%(count)d organizações ativadas.", n))


@admin.register(PoolSchema)
class PoolSchemaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The warm pool, to look at: schemas come and go through tenants.provisioning."""

    list_display = ["schema", "migration_fingerprint_short", "created_label"]
    search_fields = ["schema_name"]
    ordering = ["created_at", "id"]

    @admin.display(description=_("schema"), ordering="schema_name")
    def schema(self, obj):
        return obj.schema_name

    @admin.display(description=_("criado em"), ordering="created_at")
    def created_label(self, obj):
        return obj.created_at

    @admin.display(description=_("migrações"), ordering="migration_fingerprint")
    def migration_fingerprint_short(self, obj):
        return obj.migration_fingerprint[:12]


# The dashboard's tables, its exports and the per-tenant actions (issue 14).
from tenants import admin_dashboard  # noqa: E402,F401
