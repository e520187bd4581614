"""Chat's settings pages for tenant owners and admins: inboxes (with the widget snippet),
teams, labels and canned responses. They extend templates/tenants/settings/base.html and
add their tabs through templates/chat/settings_nav.html.

Thin: parse the form, call one service or selector, render. Agents, strangers and other
tenants' ids all get the same 404 (chat.views.access.admin_required, selectors.NotFound)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chat import selectors
from chat.forms import CannedResponseForm, InboxForm, LabelForm, TeamForm, add_service_errors
from chat.services import settings as services
from chat.views.access import admin_required


def _found(getter, **kwargs):
    try:
        return getter(**kwargs)
    except selectors.NotFound:
        raise Http404 from None


def _render(request, template: str, context: dict, *, form=None):
    status = 400 if form is not None and form.errors else 200
    return render(request, template, context, status=status)


def _save(form, call) -> bool:
    """Run a service with the form's arguments; its ValidationError becomes form errors."""
    if not form.is_valid():
        return False
    try:
        call()
    except ValidationError as error:
        add_service_errors(form, error)
        return False
    return True


def _base_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


# --- inboxes --------------------------------------------------------------------------


@admin_required
def index(request):
    return redirect("chat:settings_inboxes")


@admin_required
def inboxes(request):
    return render(request, "chat/settings/inboxes.html", {"inboxes": selectors.inbox_list(), "section": "chat_inboxes"})


@admin_required
def inbox_new(request):
    if request.method == "POST":
        form = InboxForm(request.POST)
        created = {}
        if _save(
            form,
            lambda: created.setdefault("inbox", services.inbox_create(**form.service_arguments(), actor=request.user)),
        ):
            flash.success(request, _("Caixa de entrada criada. Copie o código abaixo para o seu site."))
            return redirect("chat:settings_inbox", inbox_id=created["inbox"].pk)
    else:
        form = InboxForm(initial={"auto_assign": True, "auto_assign_capacity": 5, "time_zone": "America/Sao_Paulo"})
    return _render(request, "chat/settings/inbox_form.html", {"form": form, "section": "chat_inboxes"}, form=form)


@admin_required
def inbox_edit(request, inbox_id: int):
    inbox = _found(selectors.inbox_get, inbox_id=inbox_id)
    if request.method == "POST":
        form = InboxForm(request.POST)
        if _save(form, lambda: services.inbox_update(inbox=inbox, **form.service_arguments(), actor=request.user)):
            flash.success(request, _("Caixa de entrada salva."))
            return redirect("chat:settings_inbox", inbox_id=inbox.pk)
    else:
        form = InboxForm(initial=InboxForm.initial_from(inbox))
    base = _base_url(request)
    context = {
        "form": form,
        "inbox": inbox,
        "section": "chat_inboxes",
        "snippet": f'<script src="{base}/widget.js" data-inbox="{inbox.public_key}" async></script>',
        "sessions_url": f"{base}/api/widget/{inbox.public_key}/sessions",
        "conversation_count": selectors.inbox_conversation_count(inbox=inbox),
    }
    return _render(request, "chat/settings/inbox_form.html", context, form=form)


@admin_required
@require_POST
def inbox_delete(request, inbox_id: int):
    inbox = _found(selectors.inbox_get, inbox_id=inbox_id)
    try:
        services.inbox_delete(inbox=inbox, actor=request.user)
    except ValidationError as error:
        for message in error.messages:
            flash.error(request, message)
        return redirect("chat:settings_inbox", inbox_id=inbox.pk)
    flash.success(request, _("Caixa de entrada excluída."))
    return redirect("chat:settings_inboxes")


@admin_required
def inbox_preview(request, inbox_id: int):
    """A bare page on this tenant's own host with the widget on it (frame-ancestors has 'self')."""
    inbox = _found(selectors.inbox_get, inbox_id=inbox_id)
    return render(request, "chat/settings/inbox_preview.html", {"inbox": inbox})


# --- teams ----------------------------------------------------------------------------


@admin_required
def teams(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and _save(form, lambda: services.team_create(**form.cleaned_data, actor=request.user)):
        flash.success(request, _("Equipe criada."))
        return redirect("chat:settings_teams")
    context = {"teams": selectors.team_list().select_related("parent"), "form": form, "section": "chat_teams"}
    return _render(request, "chat/settings/teams.html", context, form=form)


@admin_required
def team_edit(request, team_id: int):
    team = _found(selectors.team_get, team_id=team_id)
    if request.method == "POST":
        form = TeamForm(request.POST, team=team)
        if _save(form, lambda: services.team_update(team=team, **form.cleaned_data, actor=request.user)):
            flash.success(request, _("Equipe salva."))
            return redirect("chat:settings_teams")
    else:
        form = TeamForm(initial=TeamForm.initial_from(team), team=team)
    return _render(
        request, "chat/settings/team_form.html", {"form": form, "team": team, "section": "chat_teams"}, form=form
    )


@admin_required
@require_POST
def team_delete(request, team_id: int):
    services.team_delete(team=_found(selectors.team_get, team_id=team_id), actor=request.user)
    flash.success(request, _("Equipe excluída."))
    return redirect("chat:settings_teams")


# --- labels ---------------------------------------------------------------------------


@admin_required
def labels(request):
    form = LabelForm(request.POST or None)
    if request.method == "POST" and _save(form, lambda: services.label_create(**form.cleaned_data, actor=request.user)):
        flash.success(request, _("Etiqueta criada."))
        return redirect("chat:settings_labels")
    context = {"labels": selectors.label_list(), "form": form, "section": "chat_labels"}
    return _render(request, "chat/settings/labels.html", context, form=form)


@admin_required
def label_edit(request, label_id: int):
    label = _found(selectors.label_get, label_id=label_id)
    if request.method == "POST":
        form = LabelForm(request.POST)
        if _save(form, lambda: services.label_update(label=label, **form.cleaned_data, actor=request.user)):
            flash.success(request, _("Etiqueta salva."))
            return redirect("chat:settings_labels")
    else:
        form = LabelForm(initial={"name": label.name, "colour": label.colour})
    context = {"form": form, "object": label, "section": "chat_labels", "kind": "label"}
    return _render(request, "chat/settings/simple_form.html", context, form=form)


@admin_required
@require_POST
def label_delete(request, label_id: int):
    services.label_delete(label=_found(selectors.label_get, label_id=label_id), actor=request.user)
    flash.success(request, _("Etiqueta excluída."))
    return redirect("chat:settings_labels")


# --- canned responses -----------------------------------------------------------------


@admin_required
def canned_responses(request):
    form = CannedResponseForm(request.POST or None)
    if request.method == "POST" and _save(
        form, lambda: services.canned_response_create(**form.cleaned_data, actor=request.user)
    ):
        flash.success(request, _("Resposta pronta criada."))
        return redirect("chat:settings_canned")
    context = {"responses": selectors.canned_responses(), "form": form, "section": "chat_canned"}
    return _render(request, "chat/settings/canned.html", context, form=form)


@admin_required
def canned_response_edit(request, canned_response_id: int):
    canned = _found(selectors.canned_response_get, canned_response_id=canned_response_id)
    if request.method == "POST":
        form = CannedResponseForm(request.POST)
        if _save(
            form,
            lambda: services.canned_response_update(canned_response=canned, **form.cleaned_data, actor=request.user),
        ):
            flash.success(request, _("Resposta pronta salva."))
            return redirect("chat:settings_canned")
    else:
        form = CannedResponseForm(initial={"shortcut": canned.shortcut, "text": canned.text})
    context = {"form": form, "object": canned, "section": "chat_canned", "kind": "canned"}
    return _render(request, "chat/settings/simple_form.html", context, form=form)


@admin_required
@require_POST
def canned_response_delete(request, canned_response_id: int):
    canned = _found(selectors.canned_response_get, canned_response_id=canned_response_id)
    services.canned_response_delete(canned_response=canned, actor=request.user)
    flash.success(request, _("Resposta pronta excluída."))
    return redirect("chat:settings_canned")
