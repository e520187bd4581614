"""Widget visitors: sessions, identity verification and the visitor token.

The token is signed with a salt that names the tenant's schema and the inbox's public
key, so a token from tenant A or from inbox X verifies nowhere else. An identity
(external id or e-mail) only attaches the visitor to an existing contact when its HMAC,
made with the inbox's secret by the customer's own server, checks out; otherwise anyone
could claim to be anyone."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.core import signing
from django.db import connection, transaction

from chat.models import Contact, Conversation, Inbox
from orbit.lib.errors import OrbitError
from orbit.lib.text import json_unstorable, unstorable

TOKEN_MAX_AGE = 60 * 60 * 24 * 365  # the widget keeps it in localStorage across visits


class IdentityRefused(OrbitError):
    """The inbox requires verified identities and this one's HMAC is wrong."""

    code = "identity_refused"
    status = 403


class SessionRefused(OrbitError, ValueError):
    """The session request carries text that cannot be stored (NUL, a lone surrogate)."""

    code = "bad_request"


@dataclass(frozen=True)
class VisitorSession:
    token: str
    contact: Contact
    conversation: Conversation | None


def _salt(inbox: Inbox) -> str:
    return f"chat.visitor:{connection.schema_name}:{inbox.public_key}"


def visitor_token(*, inbox: Inbox, contact: Contact) -> str:
    return signing.dumps({"c": contact.pk, "i": inbox.pk}, salt=_salt(inbox), compress=False)


def visitor_from_token(*, inbox: Inbox, token: str | None) -> int | None:
    """The contact id a token was issued to for this inbox, or None."""
    if not token or len(token) > 500 or not token.isascii():  # signed tokens are ASCII
        return None
    try:
        data = signing.loads(token, salt=_salt(inbox), max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("i") != inbox.pk or not isinstance(data.get("c"), int):
        return None
    return data["c"]


def identity_hmac(*, inbox: Inbox, identifier: str) -> str:
    """What the customer's server computes: hex HMAC-SHA256(inbox secret, external id or e-mail)."""
    return hmac.new(inbox.hmac_secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()


def _verified(inbox: Inbox, identifier: str, signature: str | None) -> bool:
    if not signature or not str(signature).isascii():  # a hex digest; compare_digest refuses other str
        return False
    return hmac.compare_digest(identity_hmac(inbox=inbox, identifier=identifier), str(signature))


def _clean(value, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def visitor_session_start(
    *,
    inbox: Inbox,
    token: str | None = None,
    name: str = "",
    email: str = "",
    phone: str = "",
    external_id: str = "",
    identity_hash: str | None = None,
    attributes: dict | None = None,
) -> VisitorSession:
    """Resume the visitor a token names, or start one; returns a (new) token for this inbox.

    With an identity (external id, else e-mail) and a valid HMAC, the visitor becomes that
    contact (the same person across devices). With a wrong or missing HMAC the identity is
    refused when the inbox requires verification, and otherwise kept only as unverified
    details on a contact of its own. Text PostgreSQL cannot store (NUL, lone surrogates), in
    any field or custom attribute, raises SessionRefused; nothing is written."""
    texts = (token, name, email, phone, external_id, identity_hash)
    if any(isinstance(v, str) and unstorable(v) for v in texts) or json_unstorable(attributes or {}):
        raise SessionRefused("Text with NUL characters or lone surrogates cannot be stored.")
    name, email, phone, external_id = _clean(name, 200), _clean(email, 254), _clean(phone, 40), _clean(external_id, 200)
    identifier = external_id or email
    verified = bool(identifier) and _verified(inbox, identifier, identity_hash)
    if identifier and identity_hash is not None and not verified and inbox.require_identity:
        raise IdentityRefused
    if identifier and identity_hash is None and inbox.require_identity:
        raise IdentityRefused
    attributes = attributes if isinstance(attributes, dict) else {}
    with transaction.atomic():
        contact = None
        contact_id = visitor_from_token(inbox=inbox, token=token)
        if verified:
            if external_id:
                contact = Contact.objects.select_for_update().filter(external_id=external_id).first()
            else:
                contact = Contact.objects.select_for_update().filter(email__iexact=email, external_id__isnull=True).first()
        if contact is None and contact_id is not None and not verified:
            contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None:
            contact = Contact(external_id=external_id if verified and external_id else None)
        for field, value in (("name", name), ("email", email), ("phone", phone)):
            if value:
                setattr(contact, field, value)
        if attributes:
            contact.custom_attributes = {**contact.custom_attributes, **{str(k)[:50]: v for k, v in attributes.items()}}
        contact.save()
    conversation = (
        Conversation.objects.filter(contact=contact, inbox=inbox)
        .exclude(status=Conversation.Status.RESOLVED)
        .order_by("-created_at", "-pk")
        .first()
    )
    return VisitorSession(token=visitor_token(inbox=inbox, contact=contact), contact=contact, conversation=conversation)
