"""People who answer: who may take a conversation, who may be assigned one."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from chat.models import Conversation, Team


def _team_member_ids(team: Team) -> set[int]:
    """Members of a team and of its sub-departments."""
    ids: set[int] = set()
    seen: set[int] = set()
    frontier = [team.pk]
    while frontier:
        seen.update(frontier)
        ids.update(Team.members.through.objects.filter(team_id__in=frontier).values_list("user_id", flat=True))
        frontier = [pk for pk in Team.objects.filter(parent_id__in=frontier).values_list("pk", flat=True) if pk not in seen]
    return ids


def candidate_ids(*, conversation: Conversation) -> list[int]:
    """Who may take this conversation: its team's members, else the inbox's pool."""
    inbox = conversation.inbox
    users = get_user_model().objects.filter(is_active=True)
    if conversation.team_id:
        ids = _team_member_ids(conversation.team)
    elif inbox.auto_assign_team_id:
        ids = _team_member_ids(inbox.auto_assign_team)
    else:
        ids = set(inbox.agents.values_list("pk", flat=True))
        if not ids:
            ids = set(users.filter(role__in=("owner", "admin", "agent")).values_list("pk", flat=True))
    return sorted(users.filter(pk__in=ids).values_list("pk", flat=True))


def assignable_agents() -> QuerySet:
    """People a conversation can be assigned or transferred to: active owners, admins, agents."""
    return get_user_model().objects.filter(is_active=True, role__in=("owner", "admin", "agent")).order_by("name", "email")
