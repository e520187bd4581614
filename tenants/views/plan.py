"""/settings/plan/: the tenant's own subscription, self-service (owners and admins).

Plan and prices, usage against limits, change plan (a preview with the proration and the
reasons a change is refused, then a confirmation), cycle, cancel / resume, invoices with
an HTML page and a PDF, and the payment method through Stripe when it is configured.
Thin: parse, call one billing service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import documents, selectors, services
from billing import stripe as online_payment
from billing.models import Plan, Subscription
from branding.selectors import effective_brand
from tenants.selectors import organization_base_url
from tenants.views.access import tenant_admin_required

INVOICES_PER_PAGE = 12


def _may_change(request) -> bool:
    """A partner's support identity looks, the tenant's own people decide."""
    return not getattr(request.user, "is_support", False)


def _subscription(request) -> Subscription:
    subscription = selectors.subscription_for(organization=request.tenant)
    if subscription is None:
        raise Http404
    return subscription


@tenant_admin_required
def plan(request):
    organization = request.tenant
    subscription = _subscription(request)
    invoices = Paginator(selectors.invoice_list(organization=organization), INVOICES_PER_PAGE).get_page(
        request.GET.get("page"))
    context = {
        "section": "plan",
        "subscription": subscription,
        "plan": subscription.plan,
        "plans": Plan.objects.filter(is_public=True).order_by("sort_order"),
        "rows": selectors.usage_summary(organization=organization),
        "invoices": invoices,
        "credit": services.credit_balance(organization_id=organization.pk),
        "suspension_date": services.suspension_date(subscription),
        "may_change": _may_change(request),
        "is_partner": organization.kind == "partner",
        "online_payment": online_payment.enabled(),
        "stripe_return": request.GET.get("stripe", ""),
    }
    return render(request, "tenants/settings/plan.html", context)


@require_POST
@tenant_admin_required
def payment_method(request):
    """Off to Stripe: Checkout to save a card, or the Billing Portal to manage cards and
    receipts; back to this page afterwards (its canonical address, not the request's)."""
    if not _may_change(request):
        raise Http404
    # here, not at the top: the Stripe SDK (0.24 s, 32 MB) loads only where Stripe is on
    from billing.stripe.sessions import checkout_session_url, portal_session_url

    session = portal_session_url if request.POST.get("where") == "portal" else checkout_session_url
    return_url = f"{organization_base_url(organization=request.tenant)}/settings/plan/"
    try:
        return redirect(session(organization=request.tenant, return_url=return_url))
    except services.BillingError as refused:
        messages.error(request, str(refused))
        return redirect("tenant_settings:plan")


@tenant_admin_required
def plan_change(request):
    """GET: what the change would do. POST: do it."""
    if not _may_change(request):
        raise Http404
    source = request.POST if request.method == "POST" else request.GET
    code, cycle = source.get("plan", ""), source.get("cycle") or None
    try:
        if request.method == "POST":
            change = services.subscription_change_plan(organization=request.tenant, plan=code, cycle=cycle,
                                                       actor=request.user)
        else:
            change = services.plan_change_preview(organization=request.tenant, plan=code, cycle=cycle)
    except services.BillingError as refused:
        messages.error(request, str(refused))
        return redirect("tenant_settings:plan")
    if request.method == "POST":
        messages.success(request, {
            "upgrade": _("Plano alterado para %(plan)s. A diferença deste mês foi faturada."),
            "downgrade": _("Mudança para %(plan)s agendada para o fim do período."),
            "cycle": _("Mudança de ciclo agendada para o fim do período."),
            "cancel_scheduled": _("Mudança agendada cancelada: você continua no %(plan)s."),
            "same": _("Você já está no plano %(plan)s."),
        }[change.kind] % {"plan": change.plan.name})
        return redirect("tenant_settings:plan")
    return render(request, "tenants/settings/plan_change.html", {
        "section": "plan", "change": change, "subscription": _subscription(request)})


@require_POST
@tenant_admin_required
def plan_cancel(request):
    if not _may_change(request):
        raise Http404
    try:
        subscription = services.subscription_cancel(organization=request.tenant, actor=request.user)
    except services.BillingError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Assinatura cancelada: o serviço continua até %(date)s.") % {
            "date": subscription.current_period_end.strftime("%d/%m/%Y")})
    return redirect("tenant_settings:plan")


@require_POST
@tenant_admin_required
def plan_resume(request):
    if not _may_change(request):
        raise Http404
    try:
        services.subscription_resume(organization=request.tenant, actor=request.user)
    except services.BillingError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Cancelamento desfeito: a assinatura continua."))
    return redirect("tenant_settings:plan")


def _invoice(request, invoice_id):
    try:
        return selectors.invoice_for(organization=request.tenant, invoice_id=invoice_id,
                                     as_issuer=request.tenant.kind == "partner")
    except selectors.InvoiceNotFound:
        raise Http404 from None


@tenant_admin_required
def invoice_detail(request, invoice_id: int):
    invoice = _invoice(request, invoice_id)
    return render(request, "tenants/settings/invoice.html", {"section": "plan", "invoice": invoice,
                                                              "lines": invoice.lines.all()})


@tenant_admin_required
def invoice_pdf(request, invoice_id: int):
    invoice = _invoice(request, invoice_id)
    brand = effective_brand(request.tenant)
    pdf = documents.invoice_pdf(invoice, brand_name=brand.company_name or invoice.issuer_name,
                                accent=brand.primary_color)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
