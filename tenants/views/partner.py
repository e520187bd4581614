"""The partner console ("Clientes"), on the partner's own host: its sub-clients only.

A holding's admins get the same pages read-only. Every read goes through selectors
scoped by parent = request.tenant; a client of another partner is a 404 like a missing one."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.models import Plan
from tenants import selectors, services
from tenants.bulk import BulkFileError
from tenants.forms import ClientFilterForm, ClientForm, ImportForm, read_upload
from tenants.models import BulkImport, Organization
from tenants.provisioning import ProvisioningError
from tenants.routing import tenant_host
from tenants.views.access import console_required

PAGE_SIZE = 25


@console_required()
def client_list(request):
    filters = ClientFilterForm(request.GET or None)
    query = status = ""
    if filters.is_valid():
        query, status = filters.cleaned_data["q"], filters.cleaned_data["status"]
    clients = selectors.partner_client_list(parent=request.tenant, query=query, status=status)
    page = Paginator(clients, PAGE_SIZE).get_page(request.GET.get("page"))
    usage = selectors.client_usage(clients=page.object_list)
    for client in page.object_list:
        client.usage = usage.get(client.pk, {})
    context = {
        "page": page,
        "filters": filters,
        "query": query,
        "status": status,
        "can_manage": request.console_access == "manage",
        "imports": selectors.bulk_import_recent(partner=request.tenant) if request.console_access == "manage" else [],
    }
    return render(request, "tenants/partner/list.html", context)


@console_required(manage=True)
def client_create(request):
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client = services.partner_client_create(
                partner=request.tenant,
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"] or None,
                plan=form.cleaned_data["plan"],
                owner_email=form.cleaned_data["owner_email"],
                actor=request.user,
            )
        except (ProvisioningError, services.ClientRefused) as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("Cliente %(name)s criado; o responsável recebeu o convite por e-mail.") % {"name": client.name})
            return redirect("partner:detail", slug=client.slug)
    return render(request, "tenants/partner/create.html", {"form": form}, status=400 if form.errors else 200)


@console_required()
def client_detail(request, slug: str):
    try:
        client = selectors.partner_client_get(parent=request.tenant, slug=slug)
    except Organization.DoesNotExist:
        raise Http404 from None
    context = {
        "client": client,
        "usage": selectors.client_usage(clients=[client]).get(client.pk, {}),
        "can_manage": request.console_access == "manage",
        "subscription": billing_selectors.subscription_for(organization=client),
        "invoices": billing_selectors.issued_invoices(partner=request.tenant).filter(organization_id=client.pk)[:12],
        "plans": Plan.objects.filter(is_public=True).order_by("sort_order"),
    }
    return render(request, "tenants/partner/detail.html", context)


@console_required(manage=True)
@require_POST
def client_plan(request, slug: str):
    """The partner changes its client's plan: the same rules as the client's own page
    (upgrade now, prorated; downgrade at the end of the term, refused above the limits)."""
    try:
        client = selectors.partner_client_get(parent=request.tenant, slug=slug)
    except Organization.DoesNotExist:
        raise Http404 from None
    try:
        change = billing_services.subscription_change_plan(organization=client, plan=request.POST.get("plan", ""),
                                                           cycle=request.POST.get("cycle") or None, actor=request.user)
    except billing_services.BillingError as refused:
        messages.error(request, str(refused))
    else:
        if change.effective == "now":
            messages.success(request, _("%(name)s agora está no plano %(plan)s.") % {"name": client.name,
                                                                                   "plan": change.plan.name})
        else:
            messages.success(request, _("Mudança de %(name)s para %(plan)s agendada para %(date)s.") % {
                "name": client.name, "plan": change.plan.name,
                "date": change.effective_date.strftime("%d/%m/%Y") if change.effective_date else ""})
    return redirect("partner:detail", slug=client.slug)


@console_required(manage=True)
@require_POST
def client_status(request, slug: str):
    active = request.POST.get("action") == "activate"
    try:
        client = services.partner_client_set_active(partner=request.tenant, client_slug=slug, active=active, actor=request.user)
    except Organization.DoesNotExist:
        raise Http404 from None
    except services.ClientRefused as refused:
        messages.error(request, str(refused))
        return redirect("partner:list")
    if active:
        messages.success(request, _("%(name)s foi reativado.") % {"name": client.name})
    else:
        messages.success(request, _("%(name)s foi suspenso.") % {"name": client.name})
    return redirect("partner:detail", slug=client.slug)


@console_required(manage=True)
@require_POST
def client_support(request, slug: str):
    """Issue a one-time support link and send the browser to the client's own host."""
    try:
        client, token = services.support_access_issue(partner=request.tenant, client_slug=slug, issued_by=request.user)
    except Organization.DoesNotExist:
        raise Http404 from None
    except services.ClientRefused as refused:
        messages.error(request, str(refused))
        return redirect("partner:detail", slug=slug)
    # the partner's browser goes on to the client's host on this same server: same scheme and port
    primary = client.get_primary_domain()
    host = primary.domain if primary else tenant_host(client.slug)
    port = request.get_port()
    default = {"http": "80", "https": "443"}[request.scheme]
    base = f"{request.scheme}://{host}" + (f":{port}" if port and port != default else "")
    return redirect(f"{base}/support/enter/?t={token}")


@console_required(manage=True)
def client_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.bulk_import_start(
                partner=request.tenant,
                data=read_upload(form.cleaned_data["file"]) or b"",
                actor=request.user,
            )
        except (BulkFileError, services.ClientRefused) as refused:
            form.add_error("file", _("Arquivo recusado: %(reason)s") % {"reason": refused})
        else:
            return redirect("partner:import_detail", job_id=job.pk)
    return render(request, "tenants/partner/import.html", {"form": form}, status=400 if form.errors else 200)


def _job(request, job_id: int) -> BulkImport:
    try:
        return selectors.bulk_import_get(partner=request.tenant, job_id=job_id)
    except BulkImport.DoesNotExist:
        raise Http404 from None


@console_required(manage=True)
def client_import_detail(request, job_id: int):
    return render(request, "tenants/partner/import_detail.html", {"job": _job(request, job_id)})


@console_required(manage=True)
def client_import_progress(request, job_id: int):
    """The progress fragment htmx polls until the import is done."""
    return render(request, "tenants/partner/_import_progress.html", {"job": _job(request, job_id)})
