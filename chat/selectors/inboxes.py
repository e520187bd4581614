"""Inboxes and contacts: the widget's inbox, its hours and agents, the settings pages' reads."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db.models import QuerySet
from django.utils import timezone

from chat.models import Contact, Conversation, Inbox
from chat.selectors.access import NotFound
from chat.selectors.agents import candidate_ids
from chat.selectors.plan import plan_has_feature
from chat.selectors.presence import presence_online_ids


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


def inbox_agents_online(*, organization, inbox: Inbox) -> bool:
    """Is anyone who could take a new conversation of this inbox online?"""
    ids = candidate_ids(conversation=Conversation(inbox=inbox))
    return bool(presence_online_ids(organization=organization, user_ids=ids))


def inbox_public_settings(*, organization, inbox: Inbox) -> dict:
    """What the widget needs to draw itself (nothing secret)."""
    return {
        "name": inbox.name,
        "greeting": inbox.greeting,
        "prechat_fields": inbox.prechat_fields,
        "business_hours": inbox.business_hours,
        "time_zone": inbox.time_zone,
        "open": inbox_is_open(inbox=inbox),
        "agents_online": inbox_agents_online(organization=organization, inbox=inbox),
        "features": {"files": plan_has_feature(organization, "files"), "audio": plan_has_feature(organization, "audio")},
    }


def inbox_list() -> QuerySet[Inbox]:
    return Inbox.objects.all()


def contact_get(*, contact_id: int) -> Contact:
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound("contact")
    return contact
