"""Conversations as agents and visitors may see them (the access check folded in).

Every function here runs in the connection's current (tenant) schema, so another tenant's
rows are simply not there; the checks below are between people of one tenant."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from chat.models import Contact, Conversation, Message, ReadReceipt
from chat.selectors.access import AgentScope, NotFound, agent_scope


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
    last_read = ReadReceipt.objects.filter(conversation=OuterRef("conversation"), user=user, is_contact=False)
    rows = (
        Message.objects.filter(conversation_id__in=conversation_ids, sender_type=Message.Sender.CONTACT)
        .annotate(read_upto=Subquery(last_read.values("last_read_seq")[:1]))
        .filter(Q(read_upto__isnull=True) | Q(seq__gt=F("read_upto")))
        .values("conversation_id")
        .annotate(n=Count("pk"))
    )
    return {row["conversation_id"]: row["n"] for row in rows}


def contact_read_seq(*, conversation: Conversation) -> int:
    """How far the conversation's visitor has read (0 if never)."""
    seq = ReadReceipt.objects.filter(conversation=conversation, is_contact=True).values_list("last_read_seq", flat=True)
    return seq.first() or 0


def contact_conversation_count(*, contact: Contact) -> int:
    """How many conversations this contact has had (the contact panel's history line)."""
    return Conversation.objects.filter(contact=contact).count()
