"""The operator's admin, beyond the organization list: the dashboard's tables (daily
snapshots, activity, acquisition costs), its CSV exports and "refresh now", the per-tenant
page and its actions behind confirmation pages, and the admin's app names in the
operator's language.

Thin entry points: reads through tenants.dashboard's selectors, writes through its
services (which call tenants' and billing's, and audit with the operator's name)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.models import Plan, Subscription
from billing.pricing import AmountError, parse_amount
from orbit.lib.admin import ReadOnlyAdminMixin
from tenants.dashboard import charts, display, exports
from tenants.dashboard.models import AcquisitionCost, ActivityDay, OrganizationDay, PlatformDay
from tenants.dashboard.page import dashboard_for
from tenants.dashboard.services import (
    ActionRefused,
    operator_change_plan,
    operator_extend_trial,
    operator_grant_credit,
    operator_reactivate,
    operator_support_access,
    operator_suspend,
    reactivation_status,
)
from tenants.dashboard.snapshots import snapshots_refresh_now
from tenants.dashboard.tenant import organization_overview
from tenants.models import Organization
from tenants.routing import tenant_host

# The admin's section names, in the operator's language (the apps' own verbose names are English).
APP_NAMES = {
    "tenants": gettext_lazy("Organizações e painel"),
    "billing": gettext_lazy("Cobrança"),
    "accounts": gettext_lazy("Contas e acessos"),
    "accounts_platform": gettext_lazy("Contas da plataforma"),
    "branding": gettext_lazy("Marca"),
}
for _label, _name in APP_NAMES.items():
    try:
        apps.get_app_config(_label).verbose_name = _name
    except LookupError:  # not installed in this configuration
        pass


def operator_view(model_admin, view):
    """An admin view for operators only: anonymous → the admin login; anyone signed in who is
    not an active operator with view permission → 404 (it does not exist for them). Each view
    audits its own writes (the organization's log, with the operator's name)."""
    protected = model_admin.admin_site.admin_view(view)

    def entry(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not (user.is_active and user.is_staff and model_admin.has_view_permission(request)):
            raise Http404
        return protected(request, *args, **kwargs)

    return entry


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


# --- the dashboard's own tables -----------------------------------------------------------


@admin.register(PlatformDay)
class PlatformDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The platform's daily snapshots; the dashboard's CSV exports and "refresh now" live here."""

    list_display = ["day", "tenants", "customers", "mrr_brl", "messages_n", "conversations_n", "visitors_n",
                    "active_agents_1d", "active_agents_30d", "computed_at"]
    date_hierarchy = "day"
    ordering = ["-day"]

    @admin.display(description=gettext_lazy("MRR"), ordering="mrr")
    def mrr_brl(self, obj):
        return display.money(obj.mrr)

    @admin.display(description=gettext_lazy("mensagens"), ordering="messages")
    def messages_n(self, obj):
        return display.number(obj.messages)

    @admin.display(description=gettext_lazy("conversas"), ordering="conversations")
    def conversations_n(self, obj):
        return display.number(obj.conversations)

    @admin.display(description=gettext_lazy("visitantes"), ordering="visitors")
    def visitors_n(self, obj):
        return display.number(obj.visitors)

    def get_urls(self):
        return [
            path("export/<slug:table>.csv", operator_view(self, self.export_view), name="tenants_platformday_export"),
            path("refresh/", operator_view(self, self.refresh_view), name="tenants_platformday_refresh"),
        ] + super().get_urls()

    def export_view(self, request, table: str):
        if table not in exports.TABLES:
            raise Http404
        dashboard = dashboard_for(period_key=request.GET.get("period"), with_charts=False)
        body = exports.csv_text(table, dashboard.figures, dashboard.health)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        name = f"orbit-{table}-{dashboard.period.start:%Y-%m-%d}-{dashboard.period.end:%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def refresh_view(self, request):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:index"))
        done = snapshots_refresh_now()
        if done["queued"]:
            self.message_user(request, _("Hoje recalculado; os outros %(n)s dias seguem em segundo plano.")
                              % {"n": done["queued"]}, messages.SUCCESS)
        else:
            self.message_user(request, _("Fotografias recalculadas: %(n)s dia(s).") % {"n": len(done["days"])},
                              messages.SUCCESS)
        return HttpResponseRedirect(_safe_next(request, reverse("admin:index")))


@admin.register(OrganizationDay)
class OrganizationDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "name", "kind_label", "status_label", "plan_code", "mrr_brl", "messages", "conversations",
                    "visitors", "active_agents", "limit_percent_display"]
    list_filter = ["kind", "status", "plan_code"]
    search_fields = ["name", "slug"]
    date_hierarchy = "day"
    ordering = ["-day", "name"]
    show_full_result_count = False

    @admin.display(description=gettext_lazy("MRR"), ordering="mrr")
    def mrr_brl(self, obj):
        return display.money(obj.mrr)

    @admin.display(description=gettext_lazy("tipo"), ordering="kind")
    def kind_label(self, obj):
        return dict(Organization.Kind.choices).get(obj.kind, obj.kind)

    @admin.display(description=gettext_lazy("situação"), ordering="status")
    def status_label(self, obj):
        return dict(Organization.Status.choices).get(obj.status, obj.status)

    @admin.display(description=gettext_lazy("maior uso de um limite"), ordering="limit_percent")
    def limit_percent_display(self, obj):
        return display.whole_percent(obj.limit_percent)


@admin.register(ActivityDay)
class ActivityDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "organization_id", "kind", "actor", "actions", "last_at"]
    list_filter = ["kind"]
    search_fields = ["actor"]
    date_hierarchy = "day"
    ordering = ["-day", "organization_id"]
    show_full_result_count = False


class AcquisitionCostForm(forms.ModelForm):
    month = forms.DateField(label=gettext_lazy("mês"), input_formats=["%m/%Y", "%Y-%m", "%Y-%m-%d", "%d/%m/%Y"],
                            help_text=gettext_lazy("mês/ano, por exemplo 03/2026"),
                            widget=forms.DateInput(format="%m/%Y"))

    class Meta:
        model = AcquisitionCost
        fields = ["month", "amount", "note"]

    def clean_month(self):
        return self.cleaned_data["month"].replace(day=1)


@admin.register(AcquisitionCost)
class AcquisitionCostAdmin(admin.ModelAdmin):
    """What was spent acquiring customers each month (the dashboard's CAC)."""

    form = AcquisitionCostForm
    list_display = ["month_label", "amount_brl", "note", "updated_by", "updated_at"]
    search_fields = ["note"]
    ordering = ["-month"]

    @admin.display(description=gettext_lazy("mês"), ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%m/%Y}"

    @admin.display(description=gettext_lazy("valor"), ordering="amount")
    def amount_brl(self, obj):
        return display.money(obj.amount)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user.email
        super().save_model(request, obj, form, change)


# --- the per-tenant page ------------------------------------------------------------------


def overview_view(model_admin, request, object_id):
    organization = get_object_or_404(Organization.objects.select_related("plan", "parent"), pk=object_id)
    overview = organization_overview(organization=organization)
    chart = charts.bars([(d.day, d.messages) for d in overview.activity_days], title=_("Mensagens por dia"),
                        label=display.number, css="bars messages") if overview.activity_days else ""
    return TemplateResponse(request, "admin/tenants/organization/overview.html", {
        "messages_chart": chart,
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta, "original": organization, "o": overview,
        "title": organization.name, "actions": available_actions(organization, overview.subscription),
        "gb": display.gigabytes,
    })


class SuspendForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("motivo"), max_length=200, required=False)


class ChangePlanForm(forms.Form):
    plan = forms.ChoiceField(label=gettext_lazy("novo plano"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(p.code, p.name) for p in Plan.objects.order_by("sort_order", "code")]


class ExtendTrialForm(forms.Form):
    days = forms.IntegerField(label=gettext_lazy("dias a mais"), min_value=1, max_value=90, initial=7)


class GrantCreditForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("valor (R$)"), max_length=20)
    note = forms.CharField(label=gettext_lazy("motivo"), max_length=200)


@dataclass(frozen=True)
class OperatorAction:
    key: str
    title: object
    form: type[forms.Form] | None
    available: Callable[[Organization, Subscription | None], bool]
    consequence: Callable[[Organization, dict], str]
    run: Callable[[Organization, dict, object], str]
    leaves: bool = False  # run returns a URL on the organization's host to go to (support access)


def _plan_consequence(organization: Organization, data: dict) -> str:
    change = billing_services.plan_change_preview(organization=organization, plan=data["plan"])
    if change.refusals:
        raise ActionRefused(" ".join(change.refusals))
    if change.kind == "upgrade":
        return _("Muda para %(plan)s agora: os novos limites valem já e sai uma fatura de %(charge)s pelos %(days)s "
                 "dias que faltam do período.") % {"plan": change.plan.name, "charge": display.money(change.charge_now),
                                                   "days": change.days_left}
    if change.kind == "downgrade":
        return _("Muda para %(plan)s no fim do período (%(date)s); até lá nada muda.") % {
            "plan": change.plan.name, "date": change.effective_date.strftime("%d/%m/%Y") if change.effective_date else ""}
    if change.kind == "cancel_scheduled":
        return _("Cancela a mudança de plano agendada; a organização continua no plano atual.")
    raise ActionRefused(_("A organização já está neste plano."))


def _suspend_consequence(organization, data):
    return _("As páginas, a API e o widget de %(name)s passam a responder “conta suspensa”; os dados, a assinatura "
             "e as faturas ficam. Só um operador reativa.") % {"name": organization.name}


def _reactivate_consequence(organization, data):
    target = reactivation_status(organization)
    if target is None:
        raise ActionRefused(_("A assinatura está suspensa ou cancelada pela cobrança: marque as faturas em aberto "
                              "como pagas (a conta volta sozinha) antes de reativar."))
    return _("%(name)s volta a funcionar na hora, na situação “%(status)s”.") % {
        "name": organization.name, "status": Organization.Status(target).label}


def _trial_consequence(organization, data):
    return _("O teste de %(name)s ganha %(days)s dias; a cobrança começa depois disso.") % {
        "name": organization.name, "days": data["days"]}


def _credit_consequence(organization, data):
    try:
        amount = parse_amount(data["amount"])
    except AmountError as refused:
        raise ActionRefused(str(refused)) from None
    return _("%(amount)s de crédito para %(name)s, usado nas próximas faturas antes de cobrar (saldo hoje: "
             "%(balance)s).") % {"amount": display.money(amount), "name": organization.name,
                                 "balance": display.money(billing_services.credit_balance(organization_id=organization.pk))}


def _support_consequence(organization, data):
    return _("Abre uma sessão de suporte de até 30 minutos em %(name)s, com a identidade de suporte da conta; a "
             "entrada fica no histórico da organização, com o seu nome.") % {"name": organization.name}


def _is_trial(organization, subscription):
    return subscription is not None and subscription.status == Subscription.Status.TRIALING


ACTIONS: dict[str, OperatorAction] = {a.key: a for a in [
    OperatorAction("suspend", gettext_lazy("Suspender"), SuspendForm,
                   lambda o, s: o.status != Organization.Status.SUSPENDED, _suspend_consequence,
                   lambda o, d, actor: (operator_suspend(organization=o, actor=actor, reason=d.get("reason", "")),
                                        _("Organização suspensa."))[1]),
    OperatorAction("reactivate", gettext_lazy("Reativar"), None, lambda o, s: o.is_blocked, _reactivate_consequence,
                   lambda o, d, actor: (operator_reactivate(organization=o, actor=actor),
                                        _("Organização reativada."))[1]),
    OperatorAction("change-plan", gettext_lazy("Mudar de plano"), ChangePlanForm,
                   lambda o, s: s is not None and s.status not in (Subscription.Status.SUSPENDED,
                                                                     Subscription.Status.CANCELLED),
                   _plan_consequence,
                   lambda o, d, actor: (operator_change_plan(organization=o, plan=d["plan"], actor=actor),
                                        _("Plano alterado."))[1]),
    OperatorAction("extend-trial", gettext_lazy("Estender o teste"), ExtendTrialForm, _is_trial, _trial_consequence,
                   lambda o, d, actor: (operator_extend_trial(organization=o, days=d["days"], actor=actor),
                                        _("Teste estendido."))[1]),
    OperatorAction("grant-credit", gettext_lazy("Conceder crédito"), GrantCreditForm, lambda o, s: True,
                   _credit_consequence,
                   lambda o, d, actor: (operator_grant_credit(organization=o, amount=d["amount"], note=d["note"],
                                                              actor=actor), _("Crédito concedido."))[1]),
    OperatorAction("support", gettext_lazy("Entrar como suporte"), None, lambda o, s: not o.is_blocked,
                   _support_consequence, lambda o, d, actor: operator_support_access(organization=o, actor=actor),
                   leaves=True),
]}


def _on_host(request, organization: Organization, path: str) -> str:
    """`path` on the organization's own host, with this request's scheme and port (one server)."""
    primary = organization.get_primary_domain()
    host = primary.domain if primary else tenant_host(organization.slug)
    port = request.get_port()
    default = {"http": "80", "https": "443"}[request.scheme]
    return f"{request.scheme}://{host}" + (f":{port}" if port and port != default else "") + path


def available_actions(organization: Organization, subscription) -> list[OperatorAction]:
    return [a for a in ACTIONS.values() if a.available(organization, subscription)]


def action_view(model_admin, request, object_id, action: str):
    """GET: the action's form (when it takes values); GET with the values: the confirmation
    page stating the consequence; POST confirmed: done, audited, back to the tenant page."""
    operator_action = ACTIONS.get(action)
    if operator_action is None or not model_admin.has_change_permission(request):
        raise Http404
    organization = get_object_or_404(Organization.objects.select_related("plan", "parent"), pk=object_id)
    overview_url = reverse("admin:tenants_organization_overview", args=[organization.pk])
    subscription = billing_selectors.subscription_for(organization=organization)
    if not operator_action.available(organization, subscription):
        model_admin.message_user(request, _("Esta ação não se aplica a esta organização agora."), messages.WARNING)
        return HttpResponseRedirect(overview_url)
    source = request.POST if request.method == "POST" else request.GET
    form = operator_action.form(source if source.get("step") else None) if operator_action.form else None
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta,
               "original": organization, "action": operator_action, "form": form, "title": operator_action.title,
               "overview_url": overview_url}
    ready = form is None or form.is_bound and form.is_valid()
    data = form.cleaned_data if form is not None and ready else {}
    if not ready:
        return TemplateResponse(request, "admin/tenants/organization/action.html", context)
    try:
        consequence = operator_action.consequence(organization, data)
    except ActionRefused as refused:
        context["refusal"] = str(refused)
        return TemplateResponse(request, "admin/tenants/organization/action.html", context)
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        try:
            done = operator_action.run(organization, data, request.user)
        except ActionRefused as refused:
            model_admin.message_user(request, str(refused), messages.ERROR)
        else:
            if operator_action.leaves:
                return HttpResponseRedirect(_on_host(request, organization, f"/support/enter/?t={done}"))
            model_admin.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(overview_url)
    context |= {"consequence": consequence, "confirming": True}
    return TemplateResponse(request, "admin/tenants/organization/action.html", context)
