"""LGPD pages for tenant admins (/settings/privacy/) and the API's contact endpoints.

Pages: find a contact by e-mail or id, download everything about it (zip), erase it
(confirmed by typing its id), and set how long conversations are kept. API (a personal
token of an owner or admin): GET /api/v1/contacts/<id>/export, POST /api/v1/contacts/<id>/erase."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import ApiToken
from accounts.tokens import api_token_from
from billing.ratelimit import api_call_authenticated
from chat.api.responses import error
from chat.models import Contact
from chat.services import privacy
from chat.views.access import admin_required


def _contact(contact_id) -> Contact:
    try:
        return Contact.objects.get(pk=int(contact_id))
    except (Contact.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def _zip_response(contact: Contact, data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="contato-{contact.pk}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def index(request):
    if request.method == "POST":
        raw = (request.POST.get("retention_days") or "").strip()
        if raw and (not raw.isdigit() or int(raw) < 1):
            flash.error(request, _("Informe um número de dias (1 ou mais), ou deixe vazio para guardar para sempre."))
        else:
            privacy.retention_set(days=int(raw) if raw else None, actor=request.user)
            flash.success(request, _("Retenção salva."))
        return redirect("chat_privacy:index")
    query = (request.GET.get("q") or "").strip()
    contacts = []
    if query:
        found = Contact.objects.filter(email__iexact=query) if "@" in query else (
            Contact.objects.filter(pk=int(query)) if query.isdigit() else Contact.objects.none())
        contacts = list(found[:20])
    return render(request, "chat/settings/privacy.html", {
        "query": query, "contacts": contacts, "retention_days": privacy.retention_get(), "section": "privacy",
    })


@admin_required
@require_POST
def contact_export(request, contact_id: int):
    contact = _contact(contact_id)
    return _zip_response(contact, privacy.contact_export(contact=contact, actor=request.user))


@admin_required
@require_POST
def contact_erase(request, contact_id: int):
    contact = _contact(contact_id)
    if request.POST.get("confirm") != str(contact.pk):
        flash.error(request, _("Para apagar, digite o número do contato."))
    else:
        privacy.contact_erase(contact=contact, actor=request.user)
        flash.success(request, _("Contato apagado."))
    return redirect("chat_privacy:index")


# --- API -----------------------------------------------------------------------------------


def _api_admin(request):
    token = api_token_from(authorization=request.headers.get("Authorization"))
    user = ApiToken.objects.authenticate(token) if token else None
    if user is None:
        response = error("unauthorized", _("Envie um token de API pessoal: Authorization: Bearer <token>."), 401)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return None, response
    api_call_authenticated(request)
    if not user.is_tenant_admin:
        return None, error("not_found", _("Não encontrado."), 404)
    return user, None


@csrf_exempt
@require_GET
def api_contact_export(request, contact_id: int):
    user, refused = _api_admin(request)
    if refused:
        return refused
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return error("not_found", _("Não encontrado."), 404)
    return _zip_response(contact, privacy.contact_export(contact=contact, actor=user))


@csrf_exempt
@require_POST
def api_contact_erase(request, contact_id: int):
    user, refused = _api_admin(request)
    if refused:
        return refused
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return error("not_found", _("Não encontrado."), 404)
    return JsonResponse({"erased": contact.pk, **privacy.contact_erase(contact=contact, actor=user)})
