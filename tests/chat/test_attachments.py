"""Attachments: content sniffing, the upload endpoints' refusals, and who can fetch a file."""

from __future__ import annotations

import io
import uuid
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django_tenants.utils import tenant_context

from billing.models import Plan
from chat.models import Attachment, Message
from chat.selectors import messages as signed_files  # the signed file URLs live with the reads
from chat.services import attachments
from chat.services.visitors import visitor_token
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory
from tests.factories import OWNER_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
OGG = b"OggS\x00\x02" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("head", "kind", "content_type"),
    [
        (PNG, "image", "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 16, "image", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 16, "image", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image", "image/webp"),
        (b"%PDF-1.7\n", "document", "application/pdf"),
        ("Olá, mundo\n".encode(), "document", "text/plain"),
        (OGG, "audio", "audio/ogg"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 16, "audio", "audio/webm"),
        (b"ID3\x04\x00" + b"\x00" * 16, "audio", "audio/mpeg"),
        (b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 16, "audio", "audio/mp4"),
    ],
)
def test_sniffing_by_content(head, kind, content_type):
    found = attachments.sniff(head)
    assert (found.kind, found.content_type) == (kind, content_type)


def test_office_documents_and_refusals():
    assert attachments.sniff(docx()[:4096]).extension == ".docx"
    for head in (EXE, b"PK\x03\x04" + b"\x00" * 60, b"\x00\x01\x02binary", b"<svg" + b"\x00" * 4, b""):
        assert attachments.sniff(head) is None


def test_storage_name_carries_the_schema():
    name = attachments.storage_name(schema="t_alpha", kind="audio", extension=".ogg")
    assert name.startswith("tenants/t_alpha/uploads/audio/") and name.endswith(".ogg")


# --- endpoints ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}}}
    return tmp_path


@pytest.fixture
def setup(tenant):
    with tenant_context(tenant):
        inbox = InboxFactory()
        contact = ContactFactory()
        conv = ConversationFactory(inbox=inbox, contact=contact)
        return inbox, contact, conv, visitor_token(inbox=inbox, contact=contact)


def upload(client, inbox, token, data: bytes, name="foto.png", language=None, **fields):
    payload = {"file": io.BytesIO(data), "client_id": str(uuid.uuid4()), **fields}
    payload["file"].name = name
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if language:
        headers["Accept-Language"] = language
    return client.post(f"/api/widget/{inbox.public_key}/attachments", payload, headers=headers)


def stored_files(media):
    return [p for p in media.rglob("*") if p.is_file()]


def test_visitor_upload_stores_under_the_tenants_schema(tenant_client, tenant, setup, media):
    inbox, contact, conv, token = setup
    response = upload(tenant_client, inbox, token, PNG, conversation=conv.pk, body="veja")
    assert response.status_code == 201, response.content
    ack = response.json()
    assert ack["conversation"] == conv.pk and ack["seq"] == 1
    with tenant_context(tenant):
        att = Attachment.objects.get(message_id=ack["id"])
        assert (att.kind, att.content_type, att.size, att.original_name) == ("image", "image/png", len(PNG), "foto.png")
        assert att.file.startswith(f"tenants/{tenant.schema_name}/uploads/images/")
        assert default_storage.exists(att.file)
    # a resend of the same client_id keeps one file
    again = upload(tenant_client, inbox, token, PNG, conversation=conv.pk)
    assert again.status_code == 201
    assert len(stored_files(media)) == 2


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [(EXE, "setup.exe", 415, "bad_type"), (b"", "vazio.txt", 400, "empty")],
)
def test_refused_uploads_store_nothing(tenant_client, tenant, setup, media, data, name, status, code):
    inbox, _, conv, token = setup
    response = upload(tenant_client, inbox, token, data, name=name, conversation=conv.pk)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert stored_files(media) == []
    with tenant_context(tenant):
        assert Message.objects.count() == 0


def test_oversized_upload_is_refused(tenant_client, tenant, setup, media, settings):
    settings.ORBIT_CHAT_MAX_UPLOAD_BYTES = 10
    inbox, _, conv, token = setup
    response = upload(tenant_client, inbox, token, PNG, conversation=conv.pk)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert stored_files(media) == []


def test_the_plans_file_size_limit_refuses_larger_files(tenant_client, tenant, setup, media, settings):
    inbox, _, conv, token = setup
    plan = Plan.objects.get(pk=tenant.plan_id)
    plan.max_upload_bytes = len(PNG) - 1
    plan.save()
    response = upload(tenant_client, inbox, token, PNG, conversation=conv.pk, language="en")
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert response.json()["error"]["message"] == f"The file is larger than {len(PNG) - 1} bytes, your plan's limit."
    assert stored_files(media) == []
    plan.max_upload_bytes = len(PNG)
    plan.save()
    assert upload(tenant_client, inbox, token, PNG, conversation=conv.pk).status_code == 201
    # the platform's ceiling still wins over a larger plan limit
    settings.ORBIT_CHAT_MAX_UPLOAD_BYTES = 10
    plan.max_upload_bytes = 50 * 1024 * 1024
    plan.save()
    assert upload(tenant_client, inbox, token, PNG, conversation=conv.pk).status_code == 413


def test_plan_features_gate_files_and_audio(tenant_client, tenant, setup, media):
    inbox, _, conv, token = setup
    plan = Plan.objects.get(pk=tenant.plan_id)
    plan.features = ["files"]
    plan.save()
    response = upload(tenant_client, inbox, token, OGG, name="voz.ogg", conversation=conv.pk)
    assert response.status_code == 403 and response.json()["error"]["code"] == "feature_off"
    plan.features = ["audio"]
    plan.save()
    assert upload(tenant_client, inbox, token, PNG, conversation=conv.pk).status_code == 403
    plan.features = []
    plan.save()
    assert upload(tenant_client, inbox, token, OGG, name="voz.ogg", conversation=conv.pk).status_code == 403
    assert stored_files(media) == []


def test_visitor_upload_needs_its_own_token_and_conversation(tenant_client, other_tenant_client, tenant, setup, media):
    inbox, _, conv, token = setup
    assert upload(tenant_client, inbox, None, PNG).status_code == 401
    assert upload(tenant_client, inbox, "forged", PNG).status_code == 401
    with tenant_context(tenant):
        stranger_conv = ConversationFactory(inbox=inbox)
    response = upload(tenant_client, inbox, token, PNG, conversation=stranger_conv.pk)
    assert response.status_code == 404
    assert upload(other_tenant_client, inbox, token, PNG).status_code == 401
    assert stored_files(media) == []


def test_agent_upload_needs_session_and_csrf(tenant, setup, media):
    inbox, _, conv, _ = setup
    from tests.ws import primary_host

    with tenant_context(tenant):
        agent = UserFactory(role="admin")
    client = Client(HTTP_HOST=primary_host(tenant), enforce_csrf_checks=True)
    url = f"/inbox/api/conversations/{conv.pk}/attachments"
    assert client.post(url, {"file": io.BytesIO(PNG), "client_id": str(uuid.uuid4())}).status_code in (302, 403)
    with tenant_context(tenant):
        assert client.login(email=agent.email, password=OWNER_PASSWORD)
    file = io.BytesIO(PNG)
    file.name = "print.png"
    assert client.post(url, {"file": file, "client_id": str(uuid.uuid4())}).status_code == 403  # no CSRF token
    from django.middleware.csrf import _get_new_csrf_string

    csrf = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf
    file.seek(0)
    response = client.post(url, {"file": file, "client_id": str(uuid.uuid4()), "private": "1"}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 201, response.content
    with tenant_context(tenant):
        assert Message.objects.get(pk=response.json()["id"]).is_private
    assert client.post(f"/inbox/api/conversations/{conv.pk + 999}/attachments", {}, headers={"X-CSRFToken": csrf}).status_code == 404


def test_file_url_works_on_its_tenant_only_and_expires(tenant_client, other_tenant_client, tenant, setup, media, monkeypatch):
    inbox, _, conv, token = setup
    ack = upload(tenant_client, inbox, token, PNG, conversation=conv.pk).json()
    with tenant_context(tenant):
        url = attachments.attachment_url(Attachment.objects.get(message_id=ack["id"]))
    response = tenant_client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert other_tenant_client.get(url).status_code == 404
    assert tenant_client.get(url[:-3] + "abc").status_code == 404
    monkeypatch.setattr(signed_files, "URL_MAX_AGE", -1)
    assert tenant_client.get(url).status_code == 404


def test_one_tenants_file_size_limit_is_not_anothers(db, tenant, other_tenant, settings):
    """max_upload_bytes reads the plan of the tenant the connection is in, never another's
    (alpha and beta share a catalogue plan here: alpha gets one of its own, in memory)."""
    settings.ORBIT_CHAT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    tiny = Plan.objects.create(code="so-arquivos-pequenos", name="Pequenos", max_upload_bytes=1024)
    alpha = type(tenant).objects.get(pk=tenant.pk)
    alpha.plan = tiny
    with tenant_context(alpha):
        assert attachments.max_upload_bytes() == 1024
    with tenant_context(other_tenant):
        assert attachments.max_upload_bytes() == other_tenant.plan.max_upload_bytes == 10 * 1024 * 1024
