"""The side panel's actions (status, assignment and transfer, labels): each posts with htmx
and gets the panel back; without JavaScript it posts normally and is redirected (PRG)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chat import selectors, services
from chat.views.access import agent_required
from chat.views.inbox import _conversation_or_404, _int, _panel_context


def _after_action(request, conversation_id: int, error: str | None = None):
    conv = _conversation_or_404(request, conversation_id)
    if request.htmx:
        response = render(request, "chat/inbox/_panel.html", {**_panel_context(request, conv), "error": error})
        if error:
            response.status_code = 400
        return response
    if error:
        flash.error(request, error)
    return redirect("chat:conversation", conversation_id=conv.pk)


@agent_required
@require_POST
def set_status(request, conversation_id: int):
    conv = _conversation_or_404(request, conversation_id)
    try:
        services.conversation_set_status(organization=request.tenant, conversation=conv, status=request.POST.get("status", ""))
    except services.ConversationError:
        return _after_action(request, conversation_id, _("Situação inválida."))
    return _after_action(request, conversation_id)


@agent_required
@require_POST
def assign(request, conversation_id: int):
    """Assign to an agent (or nobody), or transfer to a team: 'agent' and/or 'team' ids."""
    conv = _conversation_or_404(request, conversation_id)
    agent_raw, team_raw = request.POST.get("agent", ""), request.POST.get("team", "")
    agent = team = None
    if agent_raw:
        agent = selectors.assignable_agents().filter(pk=_int(agent_raw) or 0).first()
        if agent is None:
            return _after_action(request, conversation_id, _("Agente não encontrado."))
    if team_raw:
        team = selectors.team_list().filter(pk=_int(team_raw) or 0).first()
        if team is None:
            return _after_action(request, conversation_id, _("Equipe não encontrada."))
    try:
        if team is not None:
            services.conversation_transfer(organization=request.tenant, conversation=conv, agent=agent, team=team)
        else:
            services.conversation_assign(organization=request.tenant, conversation=conv, agent=agent)
    except services.AssignmentError as exc:
        return _after_action(request, conversation_id, str(exc))
    return _after_action(request, conversation_id)


@agent_required
@require_POST
def labels(request, conversation_id: int):
    """Add ('add': comma-separated names) or remove ('remove': one name) labels."""
    conv = _conversation_or_404(request, conversation_id)
    if request.POST.get("remove"):
        services.conversation_labels_remove(organization=request.tenant, conversation=conv, names=[request.POST["remove"]])
    else:
        names = [n.strip() for n in request.POST.get("add", "").split(",") if n.strip()]
        if not names:
            return _after_action(request, conversation_id, _("Informe uma etiqueta."))
        services.conversation_labels_add(organization=request.tenant, conversation=conv, names=names)
    return _after_action(request, conversation_id)
