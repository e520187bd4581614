"""The tenant's REST API for bots and integrations, authenticated by a personal API token
(`Authorization: Bearer orb_…`, made on /settings/tokens/). Needs the plan's `api`
feature; rate limited per tenant by the plan and metered as api_call (billing, /api/…).

`GET /api/v1/conversations?filter=all|mine|unassigned&status=open|pending|snoozed|resolved|any
&limit=1..100&after=<cursor>`: the conversations the token's user may see, newest activity
first, keyset-paginated (`next` is the cursor of the following page, null on the last)."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.models import ApiToken
from accounts.tokens import api_token_from
from billing.ratelimit import api_call_authenticated
from chat import selectors
from chat.api.responses import error
from chat.models import Conversation
from chat.realtime import events

MAX_LIMIT = 100
FILTERS = ("all", "mine", "unassigned")


def _conversation(row: dict) -> dict:
    """The conversation.updated frame's fields (one shape for socket and API), plus names."""
    return {
        "id": row["id"],
        "status": row["status"],
        "assignee": events.person_ref(user_id=row["assignee_id"], name=row["assignee_name"], email=row["assignee_email"]),
        "last_seq": row["last_seq"],
        "inbox": {"id": row["inbox_id"], "name": row["inbox_name"]},
        "contact": {"id": row["contact_id"], "name": row["contact_name"], "email": row["contact_email"]},
        "team": {"id": row["team_id"], "name": row["team_name"]} if row["team_id"] else None,
        "priority": row["priority"],
        "labels": list(row["labels"]),
        "queued": row["queued_at"] is not None,
        "last_activity_at": events.iso(row["last_activity_at"]),
        "created_at": events.iso(row["created_at"]),
    }


def _unauthorized():
    response = error("unauthorized", _("Envie um token de API pessoal: Authorization: Bearer <token>."), 401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@require_GET
def conversations(request):
    token = api_token_from(authorization=request.headers.get("Authorization"))
    user = ApiToken.objects.authenticate(token) if token else None
    if user is None:
        return _unauthorized()  # counted per client IP, never against the tenant's quota
    api_call_authenticated(request)
    if not selectors.plan_has_feature(request.tenant, "api"):
        return error("feature_unavailable", _("O seu plano não inclui a API."), 403)
    params = request.GET
    filter_ = params.get("filter", "all")
    if filter_ not in FILTERS:
        return error("bad_request", _("filter deve ser all, mine ou unassigned."))
    status = params.get("status", Conversation.Status.OPEN)
    if status != "any" and status not in Conversation.Status.values:
        return error("bad_request", _("status deve ser open, pending, snoozed, resolved ou any."))
    raw_limit = params.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return error("bad_request", _("limit deve ser um número de 1 a %(max)d.") % {"max": MAX_LIMIT})
    after = None
    if "after" in params:
        try:
            after = selectors.ConversationCursor.decode(params["after"])
        except selectors.BadCursor:
            return error("bad_request", _("after não é um cursor desta lista."))
    rows, next_cursor = selectors.conversation_rows_for_api(
        user=user, after=after, limit=int(raw_limit), filter=filter_, status=None if status == "any" else status
    )
    return JsonResponse(
        {"results": [_conversation(c) for c in rows], "next": next_cursor.encode() if next_cursor else None}
    )
