"""LGPD / GDPR for one tenant's contacts: export everything about a contact, erase a
contact, and keep conversations only as long as the tenant's retention says.

Erasing keeps the conversation and message rows (counts, seq, reports and the billing
ledger stay consistent) but empties every message body of the contact's conversations,
deletes their attachments (rows and stored files) and blanks the contact's own fields,
so nothing of the person is left to read, search or export. Each action is audited in
the tenant's audit log without the personal data itself."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import zipfile

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.services import audit_record
from chat.models import Attachment, Contact, Conversation, Message
from chat.privacy.models import PrivacySettings

logger = logging.getLogger(__name__)

ERASED_BODY = ""


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def contact_export(*, contact: Contact, actor=None) -> bytes:
    """A zip: contact.json (the contact, its conversations and their messages, notes
    included, flagged private) and files/ (every attachment of those conversations)."""
    conversations = list(Conversation.objects.filter(contact=contact).select_related("inbox").order_by("id"))
    messages = (Message.objects.filter(conversation__in=conversations).select_related("sender_user")
                .prefetch_related("attachments").order_by("conversation_id", "seq"))
    by_conversation: dict[int, list] = {c.pk: [] for c in conversations}
    files = []
    for message in messages:
        attachments = []
        for attachment in message.attachments.all():
            arcname = f"files/{attachment.pk}-{(attachment.original_name or attachment.file.rsplit('/', 1)[-1]).replace('/', '_')}"
            attachments.append({"name": attachment.original_name, "content_type": attachment.content_type,
                                "size": attachment.size, "file": arcname})
            files.append((attachment.file, arcname))
        by_conversation[message.conversation_id].append({
            "seq": message.seq, "sender": message.sender_type,
            "agent": message.sender_user.name if message.sender_user_id and message.sender_user else None,
            "body": message.body, "private": message.is_private, "created_at": _iso(message.created_at),
            "attachments": attachments,
        })
    document = {
        "contact": {"id": contact.pk, "name": contact.name, "email": contact.email, "phone": contact.phone,
                    "external_id": contact.external_id, "attributes": contact.custom_attributes,
                    "created_at": _iso(contact.created_at)},
        "conversations": [{"id": c.pk, "inbox": c.inbox.name, "status": c.status, "created_at": _iso(c.created_at),
                           "messages": by_conversation[c.pk]} for c in conversations],
        "exported_at": timezone.now().isoformat(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("contact.json", json.dumps(document, ensure_ascii=False, indent=2))
        for stored_name, arcname in files:
            try:
                with default_storage.open(stored_name, "rb") as handle:
                    archive.writestr(arcname, handle.read())
            except (FileNotFoundError, OSError):
                logger.warning("attachment file %s is missing from the contact export", stored_name)
    audit_record(action="contact.exported", actor=actor, target=f"contact #{contact.pk}",
                 detail={"conversations": len(conversations), "files": len(files)})
    return buffer.getvalue()


def contact_erase(*, contact: Contact, actor=None) -> dict:
    """Erase a contact: message bodies of its conversations emptied, attachments and their
    files deleted, the contact's fields blanked. Usage ledger and counts kept."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        conversations = Conversation.objects.filter(contact=contact)
        attachments = Attachment.objects.filter(message__conversation__in=conversations)
        names = list(attachments.values_list("file", flat=True))
        files = attachments.count()
        attachments.delete()
        messages = Message.objects.filter(conversation__in=conversations).update(body=ERASED_BODY)
        contact.name, contact.email, contact.phone = "", "", ""
        contact.external_id = None
        contact.custom_attributes = {"erased_at": timezone.now().isoformat()}
        contact.save(update_fields=["name", "email", "phone", "external_id", "custom_attributes"])
        audit_record(action="contact.erased", actor=actor, target=f"contact #{contact.pk}",
                     detail={"conversations": conversations.count(), "messages": messages, "files": files})
        transaction.on_commit(lambda: _delete_files(names))
    return {"messages": messages, "files": files}


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # a file left behind is logged; the rows are already gone
            logger.exception("could not delete %s", name)


# --- retention -----------------------------------------------------------------------------


def retention_get() -> int | None:
    row = PrivacySettings.objects.first()
    return row.retention_days if row else None


def retention_set(*, days: int | None, actor=None) -> None:
    if days is not None and days < 1:
        raise ValueError("retention must be at least one day")
    with transaction.atomic():
        row = PrivacySettings.objects.select_for_update().first() or PrivacySettings()
        row.retention_days = days
        row.save()
        audit_record(action="privacy.retention_set", actor=actor, target="retention", detail={"days": days})


def retention_apply(*, now: dt.datetime | None = None) -> dict:
    """Delete this tenant's conversations whose last activity is older than its retention
    (their messages and attachment files with them); audited with the count."""
    days = retention_get()
    if not days:
        return {"conversations": 0, "files": 0}
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    with transaction.atomic():
        old = Conversation.objects.filter(last_activity_at__lt=cutoff)
        names = list(Attachment.objects.filter(message__conversation__in=old).values_list("file", flat=True))
        count = old.count()
        if not count:
            return {"conversations": 0, "files": 0}
        old.delete()
        audit_record(action="privacy.retention_applied", target="conversations",
                     detail={"conversations": count, "files": len(names), "days": days, "before": cutoff.isoformat()})
        transaction.on_commit(lambda: _delete_files(names))
    return {"conversations": count, "files": len(names)}
