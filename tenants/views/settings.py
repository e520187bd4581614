"""Tenant self-service settings (owners and admins): brand, agents, plan, domains, audit;
and every person's own personal API tokens.

Thin: parse the form, call one service or selector, render. Teams, inboxes and the
widget snippet belong to chat: its pages extend templates/tenants/settings/base.html
and add their tab through templates/chat/settings_nav.html (see that template)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors as people
from accounts import services as accounts_services
from accounts.audit import AuditFilterError, audit_filter_parse
from accounts.audit import group_choices as audit_group_choices
from accounts.models import ApiToken
from accounts.services import audit_export_lines
from billing.ratelimit import per_account, per_ip, person, throttle
from branding.selectors import brand_for_edit, brand_inherited, effective_brand, may_hide_powered_by
from branding.services import BrandRefused, brand_update
from tenants import selectors, services
from tenants.forms import BrandForm, DomainForm, InviteForm
from tenants.models import Domain
from tenants.views.access import person_required, tenant_admin_required

PAGE_SIZE = 25
User = get_user_model()


def _base_url(request) -> str:
    """Where invitation links go: the tenant's own address, never the request's Host."""
    return selectors.organization_base_url(organization=request.tenant)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@tenant_admin_required
def index(request):
    return redirect("tenant_settings:brand")


@tenant_admin_required
def brand(request):
    organization = request.tenant
    own = brand_for_edit(organization=organization)
    if request.method == "POST":
        form = BrandForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                brand_update(organization=organization, actor=request.user, **form.service_arguments())
            except BrandRefused as refused:
                for field, errors in refused.errors.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                messages.success(request, _("Marca salva."))
                return redirect("tenant_settings:brand")
    else:
        form = BrandForm(initial=BrandForm.initial_from(own))
    context = {
        "form": form,
        "own": own,
        "inherited": brand_inherited(organization=organization),
        "current": effective_brand(organization),
        "may_hide_powered_by": may_hide_powered_by(organization=organization),
        "section": "brand",
    }
    return render(request, "tenants/settings/brand.html", context, status=400 if form.errors else 200)


@tenant_admin_required
def agents(request):
    return render(
        request,
        "tenants/settings/agents.html",
        {
            "page": _page(request, people.user_list()),
            "form": InviteForm(),
            "seats": selectors.seat_usage(organization=request.tenant),
            "roles": dict(User.Role.choices),
            "section": "agents",
        },
    )


@tenant_admin_required
@require_POST
@throttle(
    per_ip("invite-ip", "BILLING_INVITE_IP_RATE"),
    per_account("invite-account", "BILLING_INVITE_ACCOUNT_RATE", person),
)
def agent_invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            user = services.agent_invite(
                organization=request.tenant,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
                base_url=_base_url(request),
            )
        except accounts_services.UserRefused as refused:
            form.add_error("email", str(refused))
        else:
            messages.success(request, _("Convite enviado para %(email)s.") % {"email": user.email})
            return redirect("tenant_settings:agents")
    context = {
        "page": _page(request, people.user_list()),
        "form": form,
        "seats": selectors.seat_usage(organization=request.tenant),
        "roles": dict(User.Role.choices),
        "section": "agents",
    }
    return render(request, "tenants/settings/agents.html", context, status=400)


@tenant_admin_required
@require_POST
def agent_update(request, user_id: int):
    action = request.POST.get("action")
    try:
        organization = request.tenant
        if action == "role":
            services.agent_set_role(organization=organization, user_id=user_id, role=request.POST.get("role", ""),
                                    actor=request.user)
        elif action == "deactivate":
            services.agent_deactivate(organization=organization, user_id=user_id, actor=request.user)
        elif action == "reactivate":
            services.agent_reactivate(organization=organization, user_id=user_id, actor=request.user)
        else:
            raise Http404
    except User.DoesNotExist:
        raise Http404 from None
    except accounts_services.UserRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Alteração salva."))
    return redirect("tenant_settings:agents")


@tenant_admin_required
def domains(request):
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            domain = services.domain_add(organization=request.tenant, host=form.cleaned_data["host"], actor=request.user)
        except services.DomainRefused as refused:
            form.add_error("host", str(refused))
        else:
            messages.success(request, _("Domínio %(host)s adicionado: crie o registro TXT e verifique.") % {"host": domain.domain})
            return redirect("tenant_settings:domains")
    context = {
        "form": form,
        "domains": selectors.domain_list(organization=request.tenant),
        "section": "domains",
        "is_parent": request.tenant.kind in services.PARENT_KINDS,
    }
    return render(request, "tenants/settings/domains.html", context, status=400 if form.errors else 200)


@tenant_admin_required
@require_POST
def domain_action(request, domain_id: int):
    action = request.POST.get("action")
    try:
        if action == "verify":
            domain = services.domain_verify(organization=request.tenant, domain_id=domain_id, actor=request.user)
            messages.success(request, _("Domínio %(host)s verificado.") % {"host": domain.domain})
        elif action == "remove":
            services.domain_remove(organization=request.tenant, domain_id=domain_id, actor=request.user)
            messages.success(request, _("Domínio removido."))
        else:
            raise Http404
    except Domain.DoesNotExist:
        raise Http404 from None
    except services.DomainRefused as refused:
        messages.error(request, str(refused))
    return redirect("tenant_settings:domains")


@tenant_admin_required
def audit(request):
    """The log, filtered (accounts.audit.audit_filter_parse); a bad filter is a 400 with its reason."""
    try:
        filters = audit_filter_parse(request.GET)
    except AuditFilterError as refused:
        context = {"page": None, "filters": None, "params": request.GET, "error": str(refused),
                   "groups": audit_group_choices(), "section": "audit"}
        return render(request, "tenants/settings/audit.html", context, status=400)
    page = _page(request, people.audit_list(filters=filters))
    for entry in page.object_list:
        entry.label = people.audit_action_label(entry.action)
    context = {"page": page, "filters": filters, "params": request.GET, "groups": audit_group_choices(),
               "section": "audit"}
    return render(request, "tenants/settings/audit.html", context)


@tenant_admin_required
@require_GET
def audit_export(request):
    """The filtered log as CSV, streamed; the export itself is in the log."""
    try:
        filters = audit_filter_parse(request.GET)
    except AuditFilterError as refused:
        return HttpResponseBadRequest(str(refused), content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(
        audit_export_lines(filters=filters, actor=request.user, request=request, schema=request.tenant.schema_name),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{request.tenant.slug}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- personal API tokens (every person, their own) ----------------------------------------


def _tokens_page(request, *, error: str = "", name: str = "", created=None, clear: str = "", status: int = 200):
    response = render(
        request,
        "tenants/settings/tokens.html",
        {
            "tokens": people.api_token_list(user=request.user),
            "max_tokens": accounts_services.MAX_API_TOKENS,
            "name_max": accounts_services.API_TOKEN_NAME_MAX,
            "error": error,
            "name": name,
            "created": created,
            "clear": clear,
            "section": "tokens",
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"  # the clear token is on this page once: keep it out of caches
    return response


@person_required
def tokens(request):
    """List the person's tokens; POST creates one, shown once on the page this answers with."""
    if request.method != "POST":
        return _tokens_page(request)
    name = request.POST.get("name", "")
    try:
        token, clear = accounts_services.api_token_create(user=request.user, name=name)
    except accounts_services.ApiTokenRefused as refused:
        return _tokens_page(request, error=str(refused), name=name[:200], status=400)
    return _tokens_page(request, created=token, clear=clear)


@person_required
@require_POST
def token_revoke(request, token_id: int):
    try:
        token = accounts_services.api_token_revoke(user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Token “%(name)s” revogado: ele não funciona mais.") % {"name": token.name})
    return redirect("tenant_settings:tokens")
