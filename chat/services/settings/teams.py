"""Teams and departments (nested through `parent`, never in a cycle) and their members."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from chat.models import Team
from chat.services.settings.common import UNSET, audit, collect, refuse, staff, text


def _parent(team: Team | None, parent: Team | None) -> Team | None:
    """The parent, unless it would make a cycle (the team itself or one of its descendants)."""
    if parent is None:
        return None
    parents = dict(Team.objects.select_for_update().values_list("pk", "parent_id"))
    if parent.pk not in parents:
        raise refuse("parent", _("Equipe pai não encontrada."))
    cursor, seen = parent.pk, set()
    while cursor is not None and cursor not in seen:
        if team is not None and cursor == team.pk:
            raise refuse("parent", _("Uma equipe não pode ficar dentro dela mesma nem de uma subequipe sua."))
        seen.add(cursor)
        cursor = parents.get(cursor)
    return parent


@transaction.atomic
def team_create(*, name: str, parent: Team | None = None, members: Iterable = (), actor=None) -> Team:
    name = text(name, field="name", max_length=100)
    parent = _parent(None, parent)
    members = staff(members, "members")
    team = Team.objects.create(name=name, parent=parent)
    team.members.set(members)
    audit("team.create", actor, team.name)
    return team


@transaction.atomic
def team_update(
    *, team: Team, name: str = UNSET, parent: Team | None = UNSET, members: Iterable = UNSET, actor=None
) -> Team:
    locked = Team.objects.select_for_update().get(pk=team.pk)
    clean = collect(
        (
            ("name", name, lambda v: text(v, field="name", max_length=100)),
            ("parent", parent, lambda v: _parent(locked, v)),
            ("members", members, lambda v: staff(v, "members")),
        )
    )
    new_members = clean.pop("members", None)
    for key, value in clean.items():
        setattr(locked, key, value)
    locked.save()
    if new_members is not None:
        locked.members.set(new_members)
    audit("team.update", actor, locked.name)
    team.refresh_from_db()
    return team


@transaction.atomic
def team_delete(*, team: Team, actor=None) -> None:
    """Subteams move up to this team's parent; conversations and inboxes just lose the team."""
    locked = Team.objects.select_for_update().filter(pk=team.pk).first()
    if locked is None:
        return
    Team.objects.filter(parent=locked).update(parent=locked.parent_id)
    audit("team.delete", actor, locked.name)
    locked.delete()
