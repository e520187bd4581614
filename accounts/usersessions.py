"""A person's logged-in browsers in this schema: seen (device, IP, last seen), listed,
revoked one by one or all at once ("log out everywhere else").

Django's session row (db backend, in the schema the session lives in) is the truth: a
UserSession row only describes one, under the same key. Revoking deletes the session row,
so the browser is logged out on its next request; a row whose session is gone or expired is
never listed. A session of tenant A has no row (and no session) in tenant B."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.audit import client_ip, describe_user_agent, user_agent
from accounts.models import UserSession
from accounts.services import audit_record

SEEN = "_orbit_seen"  # when this session's row was last written (epoch seconds)
TOUCH_EVERY = 60  # a busy browser costs one write a minute, not one per request


def session_touch(request) -> None:
    """Record (at most once a minute) that this authenticated session was used."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None or not user.is_authenticated or not session.session_key:
        return
    now = int(time.time())
    if now - int(session.get(SEEN, 0) or 0) < TOUCH_EVERY:
        return
    UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={"user_id": user.pk, "ip": client_ip(request), "user_agent": user_agent(request),
                  "last_seen_at": timezone.now()},
    )
    session[SEEN] = now


def session_forget(*, session_key: str | None) -> None:
    """The row of a session that ended (logout)."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


@dataclass
class SessionView:
    id: int
    device: str
    ip: str
    last_seen_at: object
    created_at: object
    current: bool


def session_list(*, user, current_key: str | None) -> list[SessionView]:
    """The person's live sessions, the current one first, then by last use."""
    live = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=timezone.now())
    rows = (UserSession.objects.filter(user_id=user.pk).annotate(live=Exists(live)).filter(live=True)
            .order_by("-last_seen_at", "-pk"))
    views = [
        SessionView(id=row.pk, device=describe_user_agent(row.user_agent), ip=row.ip or "—",
                    last_seen_at=row.last_seen_at, created_at=row.created_at, current=row.session_key == current_key)
        for row in rows
    ]
    return sorted(views, key=lambda v: not v.current)


@transaction.atomic
def session_revoke(*, user, session_id: int, current_key: str | None, request=None) -> None:
    """End one of the person's own sessions. Raises UserSession.DoesNotExist for a session that
    is missing, someone else's or the current one (that is what "log out" is for)."""
    row = UserSession.objects.select_for_update().filter(pk=session_id, user_id=user.pk).first()
    if row is None or row.session_key == current_key:
        raise UserSession.DoesNotExist
    Session.objects.filter(session_key=row.session_key).delete()
    row.delete()
    audit_record(action="session.revoke", actor=user, target=describe_user_agent(row.user_agent),
                 detail={"ip": row.ip}, request=request)


@transaction.atomic
def session_revoke_others(*, user, current_key: str | None, request=None) -> int:
    """Log the person out everywhere but here; returns how many sessions ended."""
    rows = UserSession.objects.select_for_update().filter(user_id=user.pk).exclude(session_key=current_key or "")
    keys = set(rows.values_list("session_key", flat=True))
    # Sessions no request has touched since this page existed have no row: find them too.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).exclude(session_key=current_key or "").iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            keys.add(session.session_key)
    ended = Session.objects.filter(session_key__in=keys).delete()[0]
    rows.delete()
    audit_record(action="session.revoke_all", actor=user, target=user.email, detail={"sessions": ended}, request=request)
    return ended


def session_alive(*, session_key: str | None) -> bool:
    """Is this session still live in the current schema? For sockets authenticated by a
    session cookie: a revoked or logged-out session should close them (chat's heartbeat)."""
    if not session_key:
        return False
    return Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now()).exists()
