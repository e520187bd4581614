"""A tenant with conversations, messages (some with attachments) and stored files, committed."""

from __future__ import annotations

import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django_tenants.utils import schema_context

from chat.models import Attachment, Contact, Conversation, Inbox, Message
from chat.services.attachments import storage_name

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def populate(organization, *, conversations: int = 3, messages: int = 5, files: int = 2) -> dict:
    """Rows and files in the organization's schema; returns what was made."""
    made = {"files": []}
    with schema_context(organization.schema_name):
        inbox = Inbox.objects.create(name="Site")
        for c in range(conversations):
            contact = Contact.objects.create(name=f"Visitante {c}", email=f"v{c}@example.com")
            conversation = Conversation.objects.create(inbox=inbox, contact=contact, last_seq=messages)
            rows = [
                Message(conversation=conversation, seq=s + 1, sender_type="contact", body=f"mensagem {c}/{s} {organization.schema_name}.x",
                        client_id=uuid.uuid4())
                for s in range(messages)
            ]
            Message.objects.bulk_create(rows)
            for f in range(files if c == 0 else 0):
                name = default_storage.save(
                    storage_name(schema=organization.schema_name, kind="image", extension=".png"),
                    ContentFile(PNG + bytes([f]) * (f + 1)),
                )
                Attachment.objects.create(message=rows[f], kind="image", file=name, content_type="image/png",
                                          size=default_storage.size(name), original_name=f"foto{f}.png")
                made["files"].append(name)
    connection.set_schema_to_public()
    return made


def file_bytes(names) -> dict[str, bytes]:
    out = {}
    for name in names:
        with default_storage.open(name, "rb") as handle:
            out[name] = handle.read()
    return out
