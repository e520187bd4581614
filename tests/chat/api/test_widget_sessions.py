"""POST /api/widget/<key>/sessions: visitor tokens, identity HMAC, origins."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from chat.models import Contact
from chat.services.visitors import identity_hmac, visitor_from_token
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(db, tenant):
    with tenant_context(tenant):
        return InboxFactory(allowed_origins=["https://www.cliente.com.br"])


def post(client, inbox, payload=None, **headers):
    return client.post(
        f"/api/widget/{inbox.public_key}/sessions", json.dumps(payload or {}), content_type="application/json", headers=headers
    )


def contact_of(tenant, inbox, token):
    with tenant_context(tenant):
        return Contact.objects.get(pk=visitor_from_token(inbox=inbox, token=token))


def test_anonymous_session_then_resume_with_the_token(tenant_client, tenant, inbox):
    first = post(tenant_client, inbox, {"name": "Maria"})
    assert first.status_code == 200
    body = first.json()
    assert body["conversation"] is None and body["contact"]["name"] == "Maria"
    assert body["inbox"]["greeting"] == inbox.greeting and "hmac_secret" not in json.dumps(body)
    again = post(tenant_client, inbox, {"token": body["token"]}).json()
    assert again["contact"]["id"] == body["contact"]["id"]


def test_session_returns_the_current_conversation(tenant_client, tenant, inbox):
    token = post(tenant_client, inbox).json()["token"]
    contact = contact_of(tenant, inbox, token)
    with tenant_context(tenant):
        conv = ConversationFactory(inbox=inbox, contact=contact)
    assert post(tenant_client, inbox, {"token": token}).json()["conversation"] == {"id": conv.pk, "status": "open", "last_seq": 0}


def test_verified_identity_is_the_same_contact_across_devices(tenant_client, tenant, inbox):
    sig = identity_hmac(inbox=inbox, identifier="cliente-42")
    a = post(tenant_client, inbox, {"external_id": "cliente-42", "identity_hash": sig, "email": "c@x.com"}).json()
    b = post(tenant_client, inbox, {"external_id": "cliente-42", "identity_hash": sig}).json()
    assert a["contact"]["id"] == b["contact"]["id"]
    assert contact_of(tenant, inbox, a["token"]).external_id == "cliente-42"


def test_unverified_identity_never_takes_over_an_existing_contact(tenant_client, tenant, inbox):
    with tenant_context(tenant):
        victim = ContactFactory(external_id="cliente-42")
    body = post(tenant_client, inbox, {"external_id": "cliente-42", "identity_hash": "0" * 64}).json()
    contact = contact_of(tenant, inbox, body["token"])
    assert contact.pk != victim.pk and contact.external_id is None


@pytest.mark.parametrize("identity_hash", ["0" * 64, None])
def test_required_identity_with_a_wrong_or_missing_hmac_is_refused(tenant_client, tenant, inbox, identity_hash):
    with tenant_context(tenant):
        inbox.require_identity = True
        inbox.save()
        before = Contact.objects.count()
    payload = {"external_id": "cliente-42"} | ({"identity_hash": identity_hash} if identity_hash else {})
    response = post(tenant_client, inbox, payload)
    assert response.status_code == 403 and response.json()["error"]["code"] == "identity_refused"
    with tenant_context(tenant):
        assert Contact.objects.count() == before
    ok = post(tenant_client, inbox, {"external_id": "cliente-42", "identity_hash": identity_hmac(inbox=inbox, identifier="cliente-42")})
    assert ok.status_code == 200


def test_a_token_from_another_inbox_or_tenant_starts_a_new_visitor(tenant_client, other_tenant_client, tenant, other_tenant, inbox):
    with tenant_context(tenant):
        other_inbox = InboxFactory()
    token = post(tenant_client, inbox).json()["token"]
    assert post(tenant_client, other_inbox, {"token": token}).json()["contact"]["id"] != contact_of(tenant, inbox, token).pk
    with tenant_context(tenant):
        assert visitor_from_token(inbox=other_inbox, token=token) is None
    with tenant_context(other_tenant):
        b_inbox = InboxFactory()
        assert visitor_from_token(inbox=b_inbox, token=token) is None
    # A's key on B's host: no such inbox there.
    assert post(other_tenant_client, inbox).status_code == 404


def test_origins(tenant_client, inbox):
    assert post(tenant_client, inbox, Origin="https://www.cliente.com.br").status_code == 200
    assert post(tenant_client, inbox, Origin=f"http://{tenant_client.defaults['HTTP_HOST']}").status_code == 200
    assert post(tenant_client, inbox, Origin="https://evil.example.com").status_code == 403


def test_bad_requests(tenant_client, inbox):
    assert tenant_client.get(f"/api/widget/{inbox.public_key}/sessions").status_code == 405
    bad = tenant_client.post(f"/api/widget/{inbox.public_key}/sessions", "not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    assert tenant_client.post("/api/widget/nope/sessions", "{}", content_type="application/json").status_code == 404
