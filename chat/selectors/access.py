"""Who may see and write what: "missing" and "not yours" look the same (NotFound).

The access models live here (reads): an agent's scope, computed once per request or socket,
and the same scope as a SQL condition on the conversation row for the send statement."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from accounts.models import ApiToken
from chat.models import Inbox
from orbit.lib.errors import OrbitError


class NotFound(OrbitError):
    """Missing, or not visible to whoever asked (deliberately indistinguishable)."""

    code = "not_found"
    status = 404

    def __init__(self, what: str = "item"):
        super().__init__(f"{what[:1].upper()}{what[1:]} not found.")
        self.what = what


@dataclass(frozen=True)
class Access:
    """Which conversations a sender may write to, as a SQL condition on the conversation
    row (params prefixed a_). `reopens`: the sender's message to a resolved conversation
    reopens it (a visitor's), which the send service does itself, not the statement."""

    sql: str
    params: dict
    reopens: bool = False


EVERYONE = Access(sql="TRUE", params={})


@dataclass(frozen=True)
class AgentScope:
    """Which conversations an agent may see: admins all; agents those assigned to them, of
    their teams, and of the inboxes they work (listed in inbox.agents, or inboxes with no
    list whose team, if any, is theirs). Computed once (per request or per socket)."""

    all: bool
    user_id: int
    teams: frozenset[int] = frozenset()
    inboxes: frozenset[int] = frozenset()

    def allows(self, *, inbox_id: int, team_id: int | None, assignee_id: int | None) -> bool:
        return self.all or assignee_id == self.user_id or team_id in self.teams or inbox_id in self.inboxes

    def q(self) -> Q:
        if self.all:
            return Q()
        return Q(assignee_id=self.user_id) | Q(team_id__in=self.teams) | Q(inbox_id__in=self.inboxes)

    def access(self) -> Access:
        """allows() as a condition on the conversation row, for the send statement."""
        if self.all:
            return EVERYONE
        return Access(
            sql="assignee_id = %(a_user)s OR team_id = ANY(%(a_teams)s::bigint[]) OR inbox_id = ANY(%(a_inboxes)s::bigint[])",
            params={"a_user": self.user_id, "a_teams": sorted(self.teams), "a_inboxes": sorted(self.inboxes)},
        )


def agent_scope(*, user) -> AgentScope:
    if user.is_tenant_admin or user.is_superuser:
        return AgentScope(all=True, user_id=user.pk)
    teams = frozenset(user.chat_teams.values_list("pk", flat=True))
    listed = set(user.chat_inboxes.values_list("pk", flat=True))
    unlisted = {
        pk
        for pk, team in Inbox.objects.filter(agents__isnull=True).values_list("pk", "auto_assign_team_id")
        if team is None or team in teams
    }
    return AgentScope(all=False, user_id=user.pk, teams=teams, inboxes=frozenset(listed | unlisted))


def agent_still_admitted(*, user, token: str | None) -> bool:
    """Whether a live agent socket may stay open: its user is still active and, when it came
    in with a personal API token, that token still exists (revoked → the socket closes)."""
    if token is not None:
        holder = ApiToken.objects.authenticate(token)
        return holder is not None and holder.pk == user.pk
    return type(user).objects.filter(pk=user.pk, is_active=True).exists()


def contact_access(*, contact_id: int, inbox_id: int) -> Access:
    """A visitor's conversations (theirs, in this inbox) as a condition for the send
    statement; a resolved one is reopened by the send service (`reopens`), never written
    to by the statement alone."""
    return Access(
        sql="contact_id = %(a_contact)s AND inbox_id = %(a_inbox)s",
        params={"a_contact": contact_id, "a_inbox": inbox_id},
        reopens=True,
    )
