"""The agent inbox: conversation list, conversation view and its side panel (the panel's
actions are chat.views.inbox_actions).

Pages are server-rendered; static/chat/inbox.js adds the socket (live list, messages,
typing, read, presence). Action forms post with htmx and get the side panel back; without
JavaScript they post normally and are redirected (PRG). Every conversation is fetched
through selectors.conversation_for_agent, so "missing" and "not yours" are the same 404."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from chat import selectors
from chat.models import Conversation, Message
from chat.services.messages import MAX_BODY
from chat.services.presence import STATES as PRESENCE_STATES
from chat.views.access import agent_required

LIST_LIMIT = 100  # conversations per page of the list ("Load more" fetches the next)
PAGE_SIZE = 50
FILTERS = ("all", "mine", "unassigned")


# --- parsing --------------------------------------------------------------------------


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def list_filters(params) -> dict:
    """The list's filters from a query string; anything unknown falls back to the default."""
    filter_ = params.get("filter")
    status = params.get("status", Conversation.Status.OPEN)
    return {
        "filter": filter_ if filter_ in FILTERS else "all",
        "status": status if status in Conversation.Status.values or status == "any" else Conversation.Status.OPEN,
        "team_id": _int(params.get("team")),
        "label": (params.get("label") or "").strip()[:50] or None,
    }


def _query(filters: dict) -> str:
    """The filters back as a query string, to keep them across links."""
    params = {"filter": filters["filter"], "status": filters["status"]}
    if filters["team_id"]:
        params["team"] = filters["team_id"]
    if filters["label"]:
        params["label"] = filters["label"]
    return urlencode(params)


def _filter_args(filters: dict) -> dict:
    return {
        "filter": filters["filter"],
        "status": None if filters["status"] == "any" else filters["status"],
        "team_id": filters["team_id"],
        "label": filters["label"],
    }


def _conversations(user, filters: dict):
    return selectors.conversations_for_agent(user=user, **_filter_args(filters))


def _conversation_or_404(request, conversation_id: int) -> Conversation:
    try:
        return selectors.conversation_for_agent(user=request.user, conversation_id=conversation_id)
    except selectors.NotFound:
        raise Http404 from None


# --- view models ----------------------------------------------------------------------


def contact_name(contact) -> str:
    """How a contact is called on screen: name, e-mail, or "Visitor #id" for an anonymous one."""
    return contact.name or contact.email or _("Visitante") + f" #{contact.pk}"


def message_items(conversation: Conversation, messages: list[Message]) -> list[dict]:
    """The same payload the socket sends (message.new), so the page and inbox.js draw alike."""
    items = []
    for message in messages:
        is_contact = message.sender_type == Message.Sender.CONTACT
        payload = selectors.message_payload(message, message.attachments.all(), contact_id=conversation.contact_id if is_contact else None)
        payload["created"] = message.created_at
        payload["sender_name"] = (
            contact_name(conversation.contact) if is_contact else (payload["sender"].get("name") or message.get_sender_type_display())
        )
        items.append(payload)
    return items


def _rows(user, conversations: list[Conversation]) -> list[dict]:
    unread = selectors.unread_counts(user=user, conversation_ids=[c.pk for c in conversations])
    return [{"c": c, "unread": unread.get(c.pk, 0)} for c in conversations]


def _page(request, filters: dict, after=None) -> dict:
    """One page of the list: its rows and the cursor of the next page (None on the last)."""
    conversations, next_cursor = selectors.conversation_page_for_agent(
        user=request.user, after=after, limit=LIST_LIMIT, **_filter_args(filters)
    )
    return {
        "rows": _rows(request.user, conversations),
        "next_cursor": next_cursor.encode() if next_cursor else "",
        "filters": filters,
        "query": _query(filters),
    }


def _list_context(request, filters: dict, after=None) -> dict:
    return {
        **_page(request, filters, after),
        "filters": filters,
        "query": _query(filters),
        "filter_choices": [("all", _("Todas")), ("mine", _("Minhas")), ("unassigned", _("Sem responsável"))],
        "status_choices": [*Conversation.Status.choices, ("any", _("Qualquer situação"))],
        "teams": selectors.team_list(),
        "labels": selectors.label_list(),
    }


def _panel_context(request, conversation: Conversation) -> dict:
    agents = list(selectors.assignable_agents())
    states = selectors.presence_states(organization=request.tenant, user_ids=[a.pk for a in agents])
    return {
        "conversation": conversation,
        "contact": conversation.contact,
        "contact_conversations": selectors.contact_conversation_count(contact=conversation.contact),
        "agents": [{"user": a, "state": states.get(a.pk, "offline")} for a in agents],
        "teams": selectors.team_list(),
        "all_labels": selectors.label_list(),
        "labels": sorted(label.name for label in conversation.labels.all()),
        "statuses": Conversation.Status.choices,
    }


def _i18n() -> dict:
    """Strings inbox.js shows (translated here, so the script carries no language)."""
    return {
        "connecting": _("Conectando…"),
        "connected": _("Conectado"),
        "offline": _("Sem conexão — tentando de novo…"),
        "sending": _("Enviando…"),
        "failed": _("Não enviada. Clique para tentar de novo."),
        "read": _("Lida"),
        "typing": _("%(name)s está digitando…"),
        "visitor": _("Visitante"),
        "system": _("Sistema"),
        "note": _("Nota privada"),
        "uploading": _("Enviando arquivo…"),
        "recording": _("Gravando… clique para parar"),
        "record": _("Gravar áudio"),
        "mic_denied": _("Não foi possível usar o microfone."),
        "new_messages": _("Novas mensagens"),
        "error": _("Erro"),
    }


# --- pages ----------------------------------------------------------------------------


@agent_required
@require_GET
def index(request):
    """The list. ?after=<cursor> is the next page: with htmx ("Load more") only its rows and the
    next "Load more"; without JavaScript, a page of the list starting there. A cursor that does
    not parse is a 400 with a message (never a silent first page, which would duplicate rows)."""
    filters = list_filters(request.GET)
    after = None
    if "after" in request.GET:
        try:
            after = selectors.ConversationCursor.decode(request.GET["after"])
        except selectors.BadCursor:
            message = _("Não foi possível carregar mais conversas: a posição na lista é inválida. Recarregue a página.")
            if request.htmx:
                return render(request, "chat/inbox/_more_error.html", {"message": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        if request.htmx:
            return render(request, "chat/inbox/_page.html", _page(request, filters, after))
    context = _list_context(request, filters, after)
    if request.htmx and request.htmx.target == "conv-list":
        return render(request, "chat/inbox/_list.html", context)
    return render(request, "chat/inbox/index.html", {**context, **_page_context(request, None)})


def _page_context(request, conversation: Conversation | None) -> dict:
    me = request.user
    config = {
        "user": me.pk,
        "conversation": conversation.pk if conversation else None,
        "lastSeq": conversation.last_seq if conversation else 0,
        "contactName": contact_name(conversation.contact) if conversation else "",
        "contactReadSeq": selectors.contact_read_seq(conversation=conversation) if conversation else 0,
        "rowUrl": reverse("chat:row", kwargs={"conversation_id": 0}),
        "panelUrl": reverse("chat:panel", kwargs={"conversation_id": conversation.pk}) if conversation else "",
        "uploadUrl": (
            reverse("chat_api:agent_attachments", kwargs={"conversation_id": conversation.pk}) if conversation else ""
        ),
        "canned": {c.shortcut: c.text for c in selectors.canned_responses()},
        "maxBody": MAX_BODY,
        "i18n": _i18n(),
    }
    return {
        "config": config,
        # what the plan lets the composer attach (the upload refuses the rest anyway)
        "features": {"files": selectors.plan_has_feature(request.tenant, "files"),
                     "audio": selectors.plan_has_feature(request.tenant, "audio")},
        "presence": selectors.presence_states(organization=request.tenant, user_ids=[me.pk]).get(me.pk, "offline"),
        "presence_choices": [
            (state, label) for state, label in zip(PRESENCE_STATES, (_("Online"), _("Ocupado"), _("Offline")), strict=True)
        ],
    }


@agent_required
@require_GET
def conversation(request, conversation_id: int):
    conv = _conversation_or_404(request, conversation_id)
    filters = list_filters(request.GET)
    page = selectors.messages_page(conversation=conv, include_private=True, limit=PAGE_SIZE)
    context = {
        **_list_context(request, filters),
        **_panel_context(request, conv),
        **_page_context(request, conv),
        "items": message_items(conv, page),
        "older": page[0].seq if page and page[0].seq > 1 else None,
        "canned": selectors.canned_responses(),
    }
    return render(request, "chat/inbox/conversation.html", context)


@agent_required
@require_GET
def older_messages(request, conversation_id: int):
    """History upwards: the page of messages before ?before=<seq> (an htmx fragment)."""
    conv = _conversation_or_404(request, conversation_id)
    before = _int(request.GET.get("before"))
    if before is None:
        return HttpResponse(_("Parâmetro 'before' inválido."), status=400)
    page = selectors.messages_page(conversation=conv, before_seq=before, include_private=True, limit=PAGE_SIZE)
    return render(
        request,
        "chat/inbox/_older.html",
        {"conversation": conv, "items": message_items(conv, page), "older": page[0].seq if page and page[0].seq > 1 else None},
    )


@agent_required
@require_GET
def row(request, conversation_id: int):
    """One list row as the current filters see it; 204 when it no longer matches (the row goes)."""
    filters = list_filters(request.GET)
    found = list(_conversations(request.user, filters).filter(pk=conversation_id)[:1])
    if not found:
        return HttpResponse(status=204)
    return render(request, "chat/inbox/_row.html", {"row": _rows(request.user, found)[0], "query": _query(filters)})


@agent_required
@require_GET
def panel(request, conversation_id: int):
    conv = _conversation_or_404(request, conversation_id)
    return render(request, "chat/inbox/_panel.html", _panel_context(request, conv))


# --- actions (POST, CSRF) -------------------------------------------------------------
