"""Agent-side JSON endpoints (session auth + CSRF, like the rest of the inbox).

`POST /inbox/api/conversations/<id>/attachments`  multipart: file, client_id, body?, private?"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_POST

from chat import selectors, services
from chat.api.responses import error
from chat.api.widget import _store_and_send


@login_required
@require_POST
def attachments(request, conversation_id: int):
    try:
        conversation = selectors.conversation_for_agent(user=request.user, conversation_id=conversation_id)
    except selectors.NotFound:
        return error("not_found", "Conversation not found.", 404)
    private = request.POST.get("private") in ("1", "true", "on")
    return _store_and_send(
        request,
        lambda stored: services.message_send(
            organization=request.tenant,
            conversation=conversation,
            sender=request.user,
            body=request.POST.get("body", ""),
            client_id=request.POST.get("client_id"),
            is_private=private,
            attachments=[stored],
        ),
    )
