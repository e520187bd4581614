"""The website widget: `/widget.js` (the loader a customer pastes into their site) and the
iframe page `/widget/<inbox key>/`, both on the tenant's own host.

The iframe is the one page of Orbit that may be framed, and only by the inbox's allowed
origins (and its own host): X-Frame-Options is DENY everywhere else, so the page opts out
of it and says who may frame it with CSP frame-ancestors instead. The visitor's data never
comes in the page; the iframe's script asks the session endpoint with its stored token."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from branding.selectors import effective_brand
from chat import selectors
from chat.services.messages import MAX_BODY

LOADER = "chat/widget-loader.js"
LOADER_MAX_AGE = 3600  # the loader changes rarely; the iframe page is not cached


@lru_cache(maxsize=1)
def _loader_source() -> bytes:
    path = finders.find(LOADER)
    if path is None:
        raise FileNotFoundError(LOADER)
    return Path(path).read_bytes()


@require_GET
def loader(request):
    """The same script for every inbox of every tenant: it reads data-inbox and its own src."""
    response = HttpResponse(_loader_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={LOADER_MAX_AGE}"
    # Loaded cross-site by the customer's pages: say so explicitly (CORP), never more.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _csp_origin(origin: str) -> str | None:
    """An allowed origin as a CSP source, or None if it could smuggle another directive."""
    origin = origin.strip().rstrip("/")
    if not origin or any(ch in origin for ch in " ;,'\"\n\r\t") or "://" not in origin:
        return None
    return origin


def frame_ancestors(*, allowed_origins: list) -> str:
    sources = ["'self'", *filter(None, (_csp_origin(o) for o in allowed_origins if isinstance(o, str)))]
    return "frame-ancestors " + " ".join(dict.fromkeys(sources))


def _i18n(brand) -> dict:
    return {
        "title": _("Fale conosco"),
        "greeting": brand.widget_greeting,
        "offline": brand.widget_offline_message,
        "closed": _("Estamos fora do horário de atendimento."),
        "start": _("Iniciar conversa"),
        "placeholder": _("Escreva sua mensagem…"),
        "offline_placeholder": _("Deixe sua mensagem…"),
        "send": _("Enviar"),
        "attach": _("Anexar arquivo"),
        "file": _("Arquivo"),
        "record": _("Gravar áudio"),
        "stop": _("Parar e enviar"),
        "uploading": _("Enviando arquivo…"),
        "typing": _("%(name)s está digitando…"),
        "agent": _("Atendente"),
        "you": _("Você"),
        "failed": _("Não enviada. Toque para tentar de novo."),
        "resolved": _("Conversa encerrada. Escreva para reabrir."),
        "reconnecting": _("Reconectando…"),
        "error": _("Algo deu errado. Tente de novo."),
        "close": _("Fechar"),
        "required": _("Campo obrigatório"),
        "mic_denied": _("Não foi possível usar o microfone."),
        "left_message": _("Recebemos sua mensagem. Responderemos assim que possível."),
    }


@xframe_options_exempt
@require_GET
def frame(request, key: str):
    try:
        inbox = selectors.inbox_by_key(public_key=key)
    except selectors.NotFound:
        raise Http404 from None
    brand = effective_brand(request.tenant)
    settings = selectors.inbox_public_settings(organization=request.tenant, inbox=inbox)
    config = {
        "settings": settings,
        "key": inbox.public_key,
        "sessionUrl": reverse("chat_api:widget_sessions", kwargs={"key": inbox.public_key}),
        "uploadUrl": reverse("chat_api:widget_attachments", kwargs={"key": inbox.public_key}),
        "socketPath": f"/ws/widget/{inbox.public_key}/",
        "maxBody": MAX_BODY,
        "i18n": _i18n(brand),
    }
    response = render(request, "chat/widget/frame.html", {"inbox": inbox, "config": config, "brand": brand, "settings": settings})
    response["Content-Security-Policy"] = frame_ancestors(allowed_origins=inbox.allowed_origins)
    response["Cache-Control"] = "no-store"
    return response
