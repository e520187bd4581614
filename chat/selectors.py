"""Reads, with the access check folded in: "missing" and "not yours" look the same.

Every function here runs in the connection's current (tenant) schema, so another
tenant's rows are simply not there; the checks below are between people of one tenant."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from chat.models import Attachment, CannedResponse, Contact, Conversation, Inbox, Label, Message, Team
from chat.services import usage
from chat.services.messages import EVERYONE, Access


class NotFound(Exception):
    """Missing, or not visible to whoever asked (deliberately indistinguishable)."""


# --- inboxes and contacts -------------------------------------------------------------


def inbox_by_key(*, public_key: str) -> Inbox:
    inbox = Inbox.objects.filter(public_key=public_key).first() if public_key else None
    if inbox is None:
        raise NotFound("inbox")
    return inbox


def inbox_origin_allowed(*, inbox: Inbox, origin: str, host: str) -> bool:
    """May a page at origin use this inbox? Its own host always; others if listed."""
    origin = origin.rstrip("/").lower()
    if origin in (f"http://{host}".lower(), f"https://{host}".lower()):
        return True
    return origin in {o.rstrip("/").lower() for o in inbox.allowed_origins if isinstance(o, str)}


def inbox_is_open(*, inbox: Inbox, at: dt.datetime | None = None) -> bool:
    """Inside business hours? No hours configured = always open."""
    if not inbox.business_hours:
        return True
    try:
        local = (at or timezone.now()).astimezone(zoneinfo.ZoneInfo(inbox.time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return True
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    now = local.strftime("%H:%M")
    for span in inbox.business_hours.get(day) or []:
        if isinstance(span, (list, tuple)) and len(span) == 2 and str(span[0]) <= now < str(span[1]):
            return True
    return False


def inbox_agents_online(*, inbox: Inbox) -> bool:
    """Is anyone who could take a new conversation of this inbox online?"""
    from chat.services.assignment import candidate_ids
    from chat.services.presence import presence_online_ids

    ids = candidate_ids(conversation=Conversation(inbox=inbox))
    return bool(presence_online_ids(user_ids=ids))


def inbox_public_settings(*, inbox: Inbox) -> dict:
    """What the widget needs to draw itself (nothing secret)."""
    return {
        "name": inbox.name,
        "greeting": inbox.greeting,
        "prechat_fields": inbox.prechat_fields,
        "business_hours": inbox.business_hours,
        "time_zone": inbox.time_zone,
        "open": inbox_is_open(inbox=inbox),
        "agents_online": inbox_agents_online(inbox=inbox),
        "features": {"files": usage.plan_has_feature("files"), "audio": usage.plan_has_feature("audio")},
    }


def inbox_list() -> QuerySet[Inbox]:
    return Inbox.objects.all()


def contact_get(*, contact_id: int) -> Contact:
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("contact")
    return contact


# --- conversations --------------------------------------------------------------------


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
        """allows() as a condition on the conversation row, for message_send_checked."""
        if self.all:
            return EVERYONE
        return Access(
            sql="assignee_id = %(a_user)s OR team_id = ANY(%(a_teams)s::bigint[]) OR inbox_id = ANY(%(a_inboxes)s::bigint[])",
            params={"a_user": self.user_id, "a_teams": sorted(self.teams), "a_inboxes": sorted(self.inboxes)},
        )


def agent_still_admitted(*, user, token: str | None) -> bool:
    """Whether a live agent socket may stay open: its user is still active and, when it came
    in with a personal API token, that token still exists (revoked → the socket closes)."""
    if token is not None:
        from accounts.models import ApiToken

        holder = ApiToken.objects.authenticate(token)
        return holder is not None and holder.pk == user.pk
    return type(user).objects.filter(pk=user.pk, is_active=True).exists()


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


def conversations_for_agent(
    *,
    user,
    filter: str = "all",
    status: str | None = Conversation.Status.OPEN,
    team_id: int | None = None,
    label: str | None = None,
    inbox_id: int | None = None,
) -> QuerySet[Conversation]:
    """The conversation list: filter is "mine", "unassigned" or "all" (what the user may see)."""
    qs = Conversation.objects.filter(agent_scope(user=user).q())
    if filter == "mine":
        qs = qs.filter(assignee=user)
    elif filter == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if status:
        qs = qs.filter(status=status)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if label:
        qs = qs.filter(labels__name=label)
    if inbox_id:
        qs = qs.filter(inbox_id=inbox_id)
    return (
        qs.select_related("contact", "assignee", "team", "inbox")
        .prefetch_related("labels")
        .order_by("-last_activity_at", "-pk")
    )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


class BadCursor(ValueError):
    """A list cursor that does not parse (edited by hand, truncated, from another version)."""


@dataclass(frozen=True)
class ConversationCursor:
    """A position in the conversation list: the last row shown, as (last activity, id).

    The list is ordered by (-last_activity_at, -id), so the next page is everything strictly
    after this pair: rows inserted or bumped meanwhile land above it (on the first page) and
    never shift what comes next, so pages have no gaps and no duplicates. Opaque text in URLs:
    "<microseconds since the epoch>.<id>"; it names a position, never grants access (the
    page is still filtered by the agent's scope, and another tenant's ids do not exist here)."""

    activity: dt.datetime
    pk: int

    @classmethod
    def after(cls, conversation: Conversation) -> ConversationCursor:
        return cls(activity=conversation.last_activity_at, pk=conversation.pk)

    def encode(self) -> str:
        return f"{(self.activity - _EPOCH) // _MICROSECOND}.{self.pk}"

    @classmethod
    def decode(cls, raw: str) -> ConversationCursor:
        micros, sep, pk = (raw or "").strip().partition(".")
        if not sep or not micros.lstrip("-").isdigit() or not pk.isdigit() or len(raw) > 40:
            raise BadCursor(raw)
        try:
            activity = _EPOCH + int(micros) * _MICROSECOND
        except OverflowError:
            raise BadCursor(raw) from None
        if int(pk) <= 0 or int(pk) > 2**63 - 1:
            raise BadCursor(raw)
        return cls(activity=activity, pk=int(pk))


def conversation_page_for_agent(
    *,
    user,
    after: ConversationCursor | None = None,
    limit: int = 100,
    filter: str = "all",
    status: str | None = Conversation.Status.OPEN,
    team_id: int | None = None,
    label: str | None = None,
) -> tuple[list[Conversation], ConversationCursor | None]:
    """One page of the conversation list (keyset pagination) and the cursor of the next page,
    None on the last one. Same filters and scope as conversations_for_agent."""
    qs = conversations_for_agent(user=user, filter=filter, status=status, team_id=team_id, label=label)
    if after is not None:
        qs = qs.filter(Q(last_activity_at__lt=after.activity) | Q(last_activity_at=after.activity, pk__lt=after.pk))
    rows = list(qs[: limit + 1])
    if len(rows) > limit:
        return rows[:limit], ConversationCursor.after(rows[limit - 1])
    return rows, None


_API_PAGE_SQL = """
SELECT c.id, c.status, c.priority, c.inbox_id, i.name, c.contact_id, ct.name, ct.email,
       c.assignee_id, u.name, u.email, c.team_id, t.name, c.queued_at, c.last_seq,
       c.last_activity_at, c.created_at,
       ARRAY(SELECT l.name FROM chat_conversation_labels cl JOIN chat_label l ON l.id = cl.label_id
              WHERE cl.conversation_id = c.id ORDER BY l.name)
  FROM (SELECT * FROM chat_conversation
         WHERE ({access}) AND {where}
         ORDER BY last_activity_at DESC, id DESC
         LIMIT %(a_limit)s) AS c
  JOIN chat_inbox i ON i.id = c.inbox_id
  JOIN chat_contact ct ON ct.id = c.contact_id
  LEFT JOIN accounts_user u ON u.id = c.assignee_id
  LEFT JOIN chat_team t ON t.id = c.team_id
 ORDER BY c.last_activity_at DESC, c.id DESC
"""
_API_COLUMNS = ("id", "status", "priority", "inbox_id", "inbox_name", "contact_id", "contact_name", "contact_email",
                "assignee_id", "assignee_name", "assignee_email", "team_id", "team_name", "queued_at", "last_seq",
                "last_activity_at", "created_at", "labels")


def conversation_rows_for_api(
    *, user, after: ConversationCursor | None = None, limit: int = 50, filter: str = "all", status: str | None = "open"
) -> tuple[list[dict], ConversationCursor | None]:
    """conversation_page_for_agent for the REST API: the same scope, filters, order and
    cursor, as plain rows in one hand-written query (the ORM's query compilation and model
    instances were most of an API call's CPU: bench/noisy_neighbour.py)."""
    scope = agent_scope(user=user)
    access = scope.access()
    where, params = ["TRUE"], {**access.params, "a_limit": limit + 1}
    if filter == "mine":
        where.append("assignee_id = %(a_me)s")
        params["a_me"] = user.pk
    elif filter == "unassigned":
        where.append("assignee_id IS NULL")
    if status:
        where.append("status = %(a_status)s")
        params["a_status"] = status
    if after is not None:
        where.append("(last_activity_at, id) < (%(a_after_at)s, %(a_after_id)s)")
        params.update(a_after_at=after.activity, a_after_id=after.pk)
    with connection.cursor() as cursor:
        cursor.execute(_API_PAGE_SQL.format(access=access.sql, where=" AND ".join(where)), params)
        rows = [dict(zip(_API_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], ConversationCursor(activity=last["last_activity_at"], pk=last["id"])
    return rows, None


def conversation_for_agent(*, user, conversation_id) -> Conversation:
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        raise NotFound("conversation")
    conversation = (
        Conversation.objects.filter(agent_scope(user=user).q(), pk=conversation_id)
        .select_related("contact", "assignee", "team", "inbox")
        .first()
    )
    if conversation is None:
        raise NotFound("conversation")
    return conversation


# The hot path (a websocket frame): one primary-key lookup of the columns services need,
# with the agent's scope computed once per socket instead of per frame.
_REF_WANTED = {"id", "inbox_id", "contact_id", "team_id", "assignee_id", "status", "last_seq"}
# Model.from_db() takes a partial row in the model's field order, whatever names it is given.
_REF_FIELDS = tuple(f.attname for f in Conversation._meta.concrete_fields if f.attname in _REF_WANTED)


def _conversation_ref(where: str, params: list) -> Conversation | None:
    """SQL by hand: the ORM's query compilation cost more CPU than the query (bench/ws_delivery.py)."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(qn(f) for f in _REF_FIELDS)} FROM {qn(Conversation._meta.db_table)} WHERE {where}",
            params,
        )
        row = cursor.fetchone()
    return Conversation.from_db("default", _REF_FIELDS, row) if row is not None else None


def conversation_ref_for_agent(*, scope: AgentScope, conversation_id) -> Conversation:
    """A conversation the scope allows, with only the columns services need (no joins)."""
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        raise NotFound("conversation")
    conversation = _conversation_ref("id = %s", [conversation_id])
    if conversation is None or not scope.allows(
        inbox_id=conversation.inbox_id, team_id=conversation.team_id, assignee_id=conversation.assignee_id
    ):
        raise NotFound("conversation")
    return conversation


def conversation_for_contact(*, contact_id: int, inbox_id: int, conversation_id) -> Conversation:
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        raise NotFound("conversation")
    conversation = _conversation_ref("id = %s AND contact_id = %s AND inbox_id = %s", [conversation_id, contact_id, inbox_id])
    if conversation is None:
        raise NotFound("conversation")
    return conversation


def contact_access(*, contact_id: int, inbox_id: int) -> Access:
    """conversation_for_contact as a condition for message_send_checked; resolved
    conversations are left to the full path, which reopens them."""
    return Access(
        sql="contact_id = %(a_contact)s AND inbox_id = %(a_inbox)s AND status <> 'resolved'",
        params={"a_contact": contact_id, "a_inbox": inbox_id},
    )


def conversation_latest_for_contact(*, contact_id: int, inbox_id: int) -> Conversation | None:
    """The visitor's current conversation in this inbox (the newest not resolved), if any."""
    return (
        Conversation.objects.filter(contact_id=contact_id, inbox_id=inbox_id)
        .exclude(status=Conversation.Status.RESOLVED)
        .order_by("-created_at", "-pk")
        .first()
    )


def unread_counts(*, user, conversation_ids: list[int]) -> dict[int, int]:
    """Messages after the agent's read receipt, per conversation (contact messages only)."""
    from django.db.models import Count, F, OuterRef, Subquery

    from chat.models import ReadReceipt

    last_read = ReadReceipt.objects.filter(conversation=OuterRef("conversation"), user=user, is_contact=False)
    rows = (
        Message.objects.filter(conversation_id__in=conversation_ids, sender_type=Message.Sender.CONTACT)
        .annotate(read_upto=Subquery(last_read.values("last_read_seq")[:1]))
        .filter(Q(read_upto__isnull=True) | Q(seq__gt=F("read_upto")))
        .values("conversation_id")
        .annotate(n=Count("pk"))
    )
    return {row["conversation_id"]: row["n"] for row in rows}


# --- messages -------------------------------------------------------------------------


def _with_attachments(qs: QuerySet[Message]) -> QuerySet[Message]:
    return qs.select_related("sender_user").prefetch_related("attachments")


def messages_after(*, conversation: Conversation, after_seq: int, include_private: bool, limit: int = 500) -> list[Message]:
    """What a resume replays: seq > after_seq, oldest first."""
    qs = Message.objects.filter(conversation=conversation, seq__gt=after_seq)
    if not include_private:
        qs = qs.filter(is_private=False)
    return list(_with_attachments(qs).order_by("seq")[:limit])


def messages_page(
    *, conversation: Conversation, before_seq: int | None = None, include_private: bool = True, limit: int = 50
) -> list[Message]:
    """History paginated upwards: the `limit` messages before before_seq (None = latest), oldest first."""
    qs = Message.objects.filter(conversation=conversation)
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    if not include_private:
        qs = qs.filter(is_private=False)
    page = list(_with_attachments(qs).order_by("-seq")[:limit])
    page.reverse()
    return page


# --- attachments ----------------------------------------------------------------------


def attachment_get(*, attachment_id: int) -> Attachment:
    """For a signed URL: the signature already proved who it was issued to."""
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("attachment")
    return attachment


# --- settings lists -------------------------------------------------------------------


def team_list() -> QuerySet[Team]:
    return Team.objects.prefetch_related("members")


def label_list() -> QuerySet[Label]:
    return Label.objects.all()


def canned_responses(*, prefix: str = "") -> QuerySet[CannedResponse]:
    return CannedResponse.objects.filter(shortcut__startswith=prefix)


# --- inbox UI (agent inbox pages) -----------------------------------------------------


def assignable_agents() -> QuerySet:
    """People a conversation can be assigned or transferred to: active owners, admins, agents."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, role__in=("owner", "admin", "agent")).order_by("name", "email")


def contact_read_seq(*, conversation: Conversation) -> int:
    """How far the conversation's visitor has read (0 if never)."""
    from chat.models import ReadReceipt

    seq = ReadReceipt.objects.filter(conversation=conversation, is_contact=True).values_list("last_read_seq", flat=True)
    return seq.first() or 0


def contact_conversation_count(*, contact: Contact) -> int:
    """How many conversations this contact has had (the contact panel's history line)."""
    return Conversation.objects.filter(contact=contact).count()


# --- settings pages (tenant admins) ---------------------------------------------------


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
