"""LGPD: a contact's export and erasure (pages and API), per-tenant conversation retention."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import AuditEntry
from chat.models import Attachment, Contact, Conversation, Message
from chat.services import privacy
from chat.services.attachments import storage_name
from tests import s3 as s3_fixtures
from tests.chat.factories import ContactFactory, InboxFactory
from tests.factories import logged_in, owner_email

# files on the local filesystem or S3 (a moto server on loopback), per test
moto_server, s3, media = s3_fixtures.moto_server, s3_fixtures.s3, s3_fixtures.media

SECRET_NAME, SECRET_EMAIL, SECRET_TEXT = "Joana Sigilosa", "joana.sigilosa@example.com", "meu CPF é 123.456.789-00"


def _contact_with_history(schema: str, *, when=None):
    inbox = InboxFactory()
    contact = ContactFactory(name=SECRET_NAME, email=SECRET_EMAIL, phone="+55 11 99999-0000")
    conversation = Conversation.objects.create(inbox=inbox, contact=contact, last_seq=2,
                                               last_activity_at=when or timezone.now())
    first = Message.objects.create(conversation=conversation, seq=1, sender_type="contact", body=SECRET_TEXT,
                                   client_id=uuid.uuid4())
    Message.objects.create(conversation=conversation, seq=2, sender_type="agent", body=f"Olá {SECRET_NAME}!",
                           client_id=uuid.uuid4())
    name = default_storage.save(storage_name(schema=schema, kind="document", extension=".pdf"),
                                ContentFile(b"%PDF-1.7 " + SECRET_NAME.encode()))
    Attachment.objects.create(message=first, kind="document", file=name, content_type="application/pdf",
                              size=default_storage.size(name), original_name="rg.pdf")
    return contact, conversation, name


@pytest.mark.parametrize("backend", ["media", "s3"])
def test_export_has_everything_and_erase_leaves_nothing(db, tenant, request, backend, django_capture_on_commit_callbacks):
    request.getfixturevalue(backend)
    with tenant_context(tenant):
        contact, conversation, name = _contact_with_history(tenant.schema_name)
        other, _, other_file = _contact_with_history(tenant.schema_name)
        Contact.objects.filter(pk=other.pk).update(name="Outra Pessoa", email="outra@example.com")
        Message.objects.filter(conversation__contact=other).update(body="outra conversa")

        exported = zipfile.ZipFile(io.BytesIO(privacy.contact_export(contact=contact)))
        document = json.loads(exported.read("contact.json"))
        assert document["contact"]["email"] == SECRET_EMAIL
        assert [m["body"] for m in document["conversations"][0]["messages"]] == [SECRET_TEXT, f"Olá {SECRET_NAME}!"]
        pdf = [n for n in exported.namelist() if n.startswith("files/")]
        assert len(pdf) == 1 and exported.read(pdf[0]).endswith(SECRET_NAME.encode())

        with django_capture_on_commit_callbacks(execute=True):
            result = privacy.contact_erase(contact=contact)

        assert result == {"messages": 2, "files": 1}
        assert not default_storage.exists(name) and default_storage.exists(other_file)
        contact.refresh_from_db()
        assert (contact.name, contact.email, contact.phone, contact.external_id) == ("", "", "", None)
        # nothing of the person in messages, search (by e-mail or name) or a new export
        assert not Message.objects.filter(body__icontains="Sigilosa").exists()
        assert not Message.objects.filter(body__icontains="123.456").exists()
        assert not Contact.objects.filter(email=SECRET_EMAIL).exists()
        assert not Contact.objects.filter(name__icontains="Sigilosa").exists()
        again = zipfile.ZipFile(io.BytesIO(privacy.contact_export(contact=contact)))
        assert "Sigilosa" not in again.read("contact.json").decode() and not any(n.startswith("files/") for n in again.namelist())
        # conversation rows and counts stay (reports, ledger); the other contact is untouched
        assert Message.objects.filter(conversation=conversation).count() == 2
        assert Contact.objects.get(pk=other.pk).email == "outra@example.com"
        # audited without the personal data
        entry = AuditEntry.objects.filter(action="contact.erased").get()
        assert entry.target == f"contact #{contact.pk}" and "Sigilosa" not in json.dumps(entry.detail)


def test_retention_deletes_exactly_what_is_old(db, tenant, media, django_capture_on_commit_callbacks):
    now = timezone.now()
    with tenant_context(tenant):
        _old, old_conversation, old_file = _contact_with_history(tenant.schema_name, when=now - dt.timedelta(days=31))
        _edge, edge_conversation, edge_file = _contact_with_history(tenant.schema_name, when=now - dt.timedelta(days=29))
        assert privacy.retention_apply(now=now) == {"conversations": 0, "files": 0}  # no retention set: keep all
        privacy.retention_set(days=30)
        with django_capture_on_commit_callbacks(execute=True):
            assert privacy.retention_apply(now=now) == {"conversations": 1, "files": 1}
        assert not Conversation.objects.filter(pk=old_conversation.pk).exists()
        assert Conversation.objects.filter(pk=edge_conversation.pk).exists()
        assert not default_storage.exists(old_file) and default_storage.exists(edge_file)
        assert AuditEntry.objects.filter(action="privacy.retention_applied").get().detail["conversations"] == 1


def test_retention_of_one_tenant_leaves_another_alone(db, tenant, other_tenant, media):
    old = timezone.now() - dt.timedelta(days=400)
    with tenant_context(other_tenant):
        _c, conversation, _f = _contact_with_history(other_tenant.schema_name, when=old)
    with tenant_context(tenant):
        privacy.retention_set(days=1)
        privacy.retention_apply()
    with tenant_context(other_tenant):
        assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_pages_export_and_erase_for_admins_only(live_db, tenant, other_tenant, media):
    with tenant_context(tenant):
        contact, _conversation, _name = _contact_with_history(tenant.schema_name)
    host = tenant.domains.get(is_primary=True).domain
    owner = logged_in(host, owner_email("alpha"))
    page = owner.get("/settings/privacy/", {"q": SECRET_EMAIL})
    assert page.status_code == 200 and f"#{contact.pk}".encode() in page.content
    response = owner.post(f"/settings/privacy/contacts/{contact.pk}/export")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    # another tenant's owner: the same id is "not found" there, nothing changes here
    stranger = logged_in(other_tenant.domains.get(is_primary=True).domain, owner_email("beta"))
    assert stranger.post(f"/settings/privacy/contacts/{contact.pk}/erase", {"confirm": str(contact.pk)}).status_code == 404
    # a wrong confirmation erases nothing
    owner.post(f"/settings/privacy/contacts/{contact.pk}/erase", {"confirm": "nope"})
    with tenant_context(tenant):
        assert Contact.objects.get(pk=contact.pk).email == SECRET_EMAIL
    assert owner.post(f"/settings/privacy/contacts/{contact.pk}/erase", {"confirm": str(contact.pk)}).status_code == 302
    with tenant_context(tenant):
        assert Contact.objects.get(pk=contact.pk).email == ""
    # retention is set on the same page
    owner.post("/settings/privacy/", {"retention_days": "90"})
    with tenant_context(tenant):
        assert privacy.retention_get() == 90


def test_api_needs_an_admins_token(live_db, tenant, media):
    from django.contrib.auth import get_user_model

    from accounts.models import ApiToken

    with tenant_context(tenant):
        contact, _conversation, _name = _contact_with_history(tenant.schema_name)
        owner = get_user_model().objects.get(email=owner_email("alpha"))
        agent = get_user_model().objects.create_user("agente-api@alpha.example.com", "x", role="agent")
        owner_token = ApiToken.objects.issue(user=owner, name="lgpd")[1]
        agent_token = ApiToken.objects.issue(user=agent, name="lgpd")[1]
    from django.test import Client

    client = Client(HTTP_HOST=tenant.domains.get(is_primary=True).domain)
    assert client.get(f"/api/v1/contacts/{contact.pk}/export").status_code == 401
    assert client.post(f"/api/v1/contacts/{contact.pk}/erase", HTTP_AUTHORIZATION=f"Bearer {agent_token}").status_code == 404
    response = client.get(f"/api/v1/contacts/{contact.pk}/export", HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert client.post(f"/api/v1/contacts/{contact.pk}/erase", HTTP_AUTHORIZATION=f"Bearer {owner_token}").json()["erased"] == contact.pk
