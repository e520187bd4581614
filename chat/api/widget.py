"""The widget's HTTP endpoints (JSON), authenticated by the visitor token, not cookies.

`POST /api/widget/<key>/sessions`     start or resume a visitor; returns {token, contact, conversation, inbox}
`POST /api/widget/<key>/attachments`  multipart: file, client_id, conversation?, body? (Bearer visitor token)"""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.ratelimit import api_call_authenticated, per_account, per_ip, throttle
from chat import selectors, services
from chat.api.responses import bearer, error, json_body
from chat.realtime import events
from chat.services.visitors import IdentityRefused, SessionRefused, visitor_from_token, visitor_session_start
from orbit.lib.errors import api_response


def _inbox_or_404(key: str):
    try:
        return selectors.inbox_by_key(public_key=key)
    except selectors.NotFound:
        return None


def _origin_ok(request, inbox) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return selectors.inbox_origin_allowed(inbox=inbox, origin=origin, host=request.get_host())


def _identity(request) -> str | None:
    """Who a session request says the visitor is (its e-mail or external id), if anyone."""
    data = json_body(request) or {}
    for name in ("external_id", "email"):
        if isinstance(data.get(name), str) and data[name].strip():
            return f"{name}:{data[name]}"
    return None


def _too_many(request, seconds: int):
    response = error("rate_limited", _("Muitas requisições. Tente de novo em %(seconds)s s.") % {"seconds": seconds}, 429)
    response["Retry-After"] = str(seconds)
    return response


@csrf_exempt
@require_POST
@throttle(
    per_ip("widget-session-ip", "BILLING_WIDGET_SESSION_IP_RATE"),
    per_account("widget-session-account", "BILLING_WIDGET_SESSION_ACCOUNT_RATE", _identity),
    refuse=_too_many,
)
def sessions(request, key: str):
    inbox = _inbox_or_404(key)
    if inbox is None:
        return error("not_found", "Inbox not found.", 404)
    if not _origin_ok(request, inbox):
        return error("forbidden", "This site may not use this inbox.", 403)
    api_call_authenticated(request)  # the inbox's public key, from an allowed site: metered
    data = json_body(request)
    if data is None:
        return error("bad_request", "Send a JSON object.")
    try:
        session = visitor_session_start(
            inbox=inbox,
            token=data.get("token") if isinstance(data.get("token"), str) else None,
            name=data.get("name", ""),
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            external_id=data.get("external_id", ""),
            identity_hash=data.get("identity_hash") if isinstance(data.get("identity_hash"), str) else None,
            attributes=data.get("fields") if isinstance(data.get("fields"), dict) else None,
        )
    except IdentityRefused:
        return error("identity_refused", "The identity could not be verified.", 403)
    except SessionRefused as refused:
        return error("bad_request", str(refused))
    contact, conversation = session.contact, session.conversation
    return JsonResponse(
        {
            "token": session.token,
            "contact": {"id": contact.pk, "name": contact.name, "email": contact.email},
            "conversation": (
                {"id": conversation.pk, "status": conversation.status, "last_seq": conversation.last_seq}
                if conversation
                else None
            ),
            "inbox": selectors.inbox_public_settings(organization=request.tenant, inbox=inbox),
        }
    )


@csrf_exempt
@require_POST
def attachments(request, key: str):
    inbox = _inbox_or_404(key)
    contact_id = visitor_from_token(inbox=inbox, token=bearer(request)) if inbox is not None else None
    if contact_id is None:
        return error("unauthorized", "A valid visitor token is required.", 401)
    api_call_authenticated(request)
    contact = selectors.contact_get(contact_id=contact_id)
    conversation = None
    raw = request.POST.get("conversation")
    if raw:
        try:
            conversation = selectors.conversation_for_contact(
                contact_id=contact.pk, inbox_id=inbox.pk, conversation_id=int(raw)
            )
        except (ValueError, selectors.NotFound):
            return error("not_found", "Conversation not found.", 404)
    return _store_and_send(
        request,
        lambda stored: services.visitor_message_send(
            organization=request.tenant,
            inbox=inbox,
            contact=contact,
            conversation=conversation,
            body=request.POST.get("body", ""),
            client_id=request.POST.get("client_id"),
            attachments=[stored],
        ),
    )


def _store_and_send(request, send):
    """Shared by the agent and visitor uploads: check and store the file, then the message."""
    upload = request.FILES.get("file")
    if upload is None:
        return error("bad_request", "Send the file in the 'file' field.")
    try:
        stored = services.file_store(organization=request.tenant, upload=upload, original_name=upload.name)
    except services.UploadError as exc:
        return api_response(exc)
    try:
        message, created = send(stored)
    except (services.MessageError, services.ConversationError) as exc:
        services.file_discard(stored)
        return api_response(exc)
    except Exception:
        services.file_discard(stored)
        raise
    if not created:  # a resend: the original message already has its file
        services.file_discard(stored)
    return JsonResponse(events.message_ack(message), status=201 if created else 200)
