"""The tenant admins' settings pages: teams, labels, canned responses, one of each."""

from __future__ import annotations

from django.db.models import QuerySet

from chat.models import CannedResponse, Conversation, Inbox, Label, Team
from chat.selectors.access import NotFound


def team_list() -> QuerySet[Team]:
    return Team.objects.prefetch_related("members")


def label_list() -> QuerySet[Label]:
    return Label.objects.all()


def canned_responses(*, prefix: str = "") -> QuerySet[CannedResponse]:
    return CannedResponse.objects.filter(shortcut__startswith=prefix)


def _get(queryset: QuerySet, pk) -> object:
    try:
        found = queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound(queryset.model.__name__.lower())
    return found


def inbox_get(*, inbox_id) -> Inbox:
    return _get(Inbox.objects.select_related("auto_assign_team").prefetch_related("agents"), inbox_id)


def team_get(*, team_id) -> Team:
    return _get(Team.objects.prefetch_related("members"), team_id)


def label_get(*, label_id) -> Label:
    return _get(Label.objects.all(), label_id)


def canned_response_get(*, canned_response_id) -> CannedResponse:
    return _get(CannedResponse.objects.all(), canned_response_id)


def inbox_conversation_count(*, inbox: Inbox) -> int:
    return Conversation.objects.filter(inbox=inbox).count()
