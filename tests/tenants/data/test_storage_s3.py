"""Files through django-storages: S3 (a moto server on loopback) with per-tenant prefixes,
private objects, short-lived signed URLs handed out only after Orbit's own checks, and a
deleted tenant's objects gone."""

from __future__ import annotations

import urllib.request
import uuid
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tenants.utils import tenant_context

from chat.models import Attachment, Contact, Conversation, Inbox, Message
from chat.services import attachments
from orbit.lib import storage as stored
from tenants.data import downloads
from tests.factories import logged_in, make_organization, owner_email
from tests.tenants.test_tenant_command import tenant_command

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40


def _client(moto_server):
    return boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def _keys(moto_server, bucket, prefix=""):
    found = _client(moto_server).list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in found)


def test_objects_are_private_and_named_by_tenant(db, s3, moto_server, tenant):
    name = default_storage.save(stored.tenant_path(tenant.schema_name, "uploads", "images", "a.png"), ContentFile(PNG))
    assert name == "tenants/t_alpha/uploads/images/a.png" and _keys(moto_server, s3) == [name]
    acl = _client(moto_server).get_object_acl(Bucket=s3, Key=name)
    assert all(g["Grantee"].get("URI", "").endswith("AllUsers") is False for g in acl["Grants"])
    with pytest.raises(ValueError):
        stored.tenant_path(tenant.schema_name, "elsewhere", "x")
    with pytest.raises(ValueError):
        stored.tenant_path(tenant.schema_name, "uploads", "../../t_beta/x")


def test_attachment_url_redirects_to_a_short_presigned_url_on_its_tenant_only(live_db, s3, moto_server, tenant,
                                                                               other_tenant):
    with tenant_context(tenant):
        name = default_storage.save(attachments.storage_name(schema=tenant.schema_name, kind="image", extension=".png"),
                                    ContentFile(PNG))
        conversation = Conversation.objects.create(inbox=Inbox.objects.create(name="S"), contact=Contact.objects.create())
        message = Message.objects.create(conversation=conversation, seq=1, sender_type="contact", client_id=uuid.uuid4())
        attachment = Attachment.objects.create(message=message, kind="image", file=name, content_type="image/png",
                                               size=len(PNG), original_name="foto.png")
        url = attachments.attachment_url(attachment)
    from django.test import Client

    mine = Client(HTTP_HOST=tenant.domains.get(is_primary=True).domain)
    response = mine.get(url)
    assert response.status_code == 302
    target = response["Location"]
    query = parse_qs(urlparse(target).query)
    assert target.startswith(f"{moto_server}/{s3}/{name}") and query["X-Amz-Expires"] == ["60"]
    assert urllib.request.urlopen(target).read() == PNG  # the presigned URL works
    # on another tenant's host the token is "not found": no redirect, no URL
    theirs = Client(HTTP_HOST=other_tenant.domains.get(is_primary=True).domain)
    assert theirs.get(url).status_code == 404


def test_data_export_links_are_for_the_tenants_admins_and_expire(live_db, s3, moto_server, tenant, other_tenant,
                                                                  settings):
    owner = logged_in(tenant.domains.get(is_primary=True).domain, owner_email("alpha"))
    assert owner.post("/settings/data/").status_code == 302
    names = [k for k in _keys(moto_server, s3, "tenants/t_alpha/exports/")]
    assert len(names) == 1 and names[0].endswith(".zip")
    page = owner.get("/settings/data/")
    link = next(line.split('href="')[1].split('"')[0] for line in page.content.decode().splitlines() if "/settings/data/exports/" in line)
    response = owner.get(link)
    assert response.status_code == 302 and "X-Amz-Expires=60" in response["Location"]
    assert urllib.request.urlopen(response["Location"]).read()[:2] == b"PK"
    # B's owner with A's link: not found (the salt names A's schema; B's session is not A's)
    stranger = logged_in(other_tenant.domains.get(is_primary=True).domain, owner_email("beta"))
    assert stranger.get(link).status_code == 404
    # an agent of A: not found
    from django.contrib.auth import get_user_model

    with tenant_context(tenant):
        get_user_model().objects.create_user("agente@alpha.example.com", "senha-forte-123", role="agent")
    agent = logged_in(tenant.domains.get(is_primary=True).domain, "agente@alpha.example.com")
    assert agent.get(link).status_code == 404
    # expired
    settings.ORBIT_S3_SIGNED_URL_SECONDS = -1
    assert owner.get(link).status_code == 404
    with tenant_context(tenant):
        assert downloads.name_from_token(link.rsplit("/", 1)[-1]) is None


def test_deleting_a_tenant_deletes_its_objects_on_s3(live_db, s3, moto_server, tenant):
    org = make_organization("passageira")
    for area in ("uploads/images/a.png", "backups/daily/x.orbk", "exports/y.zip"):
        default_storage.save(f"tenants/{org.schema_name}/{area}", ContentFile(b"x"))
    default_storage.save(f"whitelabel/{org.schema_name}/logo/z.png", ContentFile(b"x"))
    keep = default_storage.save(f"tenants/{tenant.schema_name}/uploads/images/b.png", ContentFile(b"y"))
    from branding.models import Brand

    Brand.objects.create(organization=org, logo=f"whitelabel/{org.schema_name}/logo/z.png")
    tenant_command("delete", "passageira", "--yes")
    assert _keys(moto_server, s3) == [keep]


def test_walk_checksum_and_copy_on_s3(db, s3):
    name = default_storage.save("tenants/t_alpha/uploads/documents/a.txt", ContentFile(b"hello"))
    [(listed, size, etag)] = stored.walk("tenants/t_alpha/")
    assert (listed, size) == (name, 5)
    digest = stored.checksum(name, etag=etag)
    assert digest == "md5:5d41402abc4b2a76b9719d911017c592"
    copied = stored.copy(name, "tenants/t_copia/uploads/documents/a.txt")
    assert stored.verify_checksum(copied, digest) and not stored.verify_checksum(copied, "sha256:00")
