"""Messages and their files as clients see them: history pages, resume, and the payloads
(`message.new` frames, attachment references with signed URLs)."""

from __future__ import annotations

from django.core import signing
from django.db import connection
from django.db.models import QuerySet
from django.urls import reverse

from chat.models import Attachment, Conversation, Message
from chat.realtime import events
from chat.selectors.access import NotFound

URL_MAX_AGE = 3600  # seconds a file URL stays valid


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


def replay_frames(*, conversation: Conversation, after_seq: int, include_private: bool,
                  limit: int) -> tuple[list[dict], bool]:
    """The message.new frames a resume replays (at most `limit`) and whether there are more."""
    messages = messages_after(conversation=conversation, after_seq=after_seq, include_private=include_private,
                              limit=limit + 1)
    frames = [
        message_payload(m, m.attachments.all(),
                        contact_id=conversation.contact_id if m.sender_type == Message.Sender.CONTACT else None)
        for m in messages[:limit]
    ]
    return frames, len(messages) > limit


# --- attachments ----------------------------------------------------------------------


def attachment_get(*, attachment_id: int) -> Attachment:
    """For a signed URL: the signature already proved who it was issued to."""
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("attachment")
    return attachment


def _salt() -> str:
    return f"chat.attachment:{connection.schema_name}"


def attachment_url(attachment: Attachment) -> str:
    """A signed, expiring URL of the file, valid only in this tenant."""
    token = signing.dumps(attachment.pk, salt=_salt(), compress=False)
    return reverse("chat_api:attachment_file", kwargs={"token": token})


def attachment_id_from_token(token: str) -> int | None:
    try:
        value = signing.loads(token, salt=_salt(), max_age=URL_MAX_AGE)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def attachment_ref(attachment: Attachment) -> dict:
    return {
        "id": attachment.pk,
        "kind": attachment.kind,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": attachment_url(attachment),
    }


# --- payloads ---------------------------------------------------------------------------


def message_payload(message: Message, attachments, *, contact_id: int | None = None) -> dict:
    """The message.new frame for a stored message (also what resume replays)."""
    sender = events.sender_ref(sender_type=message.sender_type, user=message.sender_user, contact_id=contact_id)
    return events.message_new(message, sender=sender, attachments=[attachment_ref(a) for a in attachments])
