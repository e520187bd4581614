"""Text PostgreSQL cannot store, and JSON nested past the parser, over HTTP (issue 12, item 6):
NUL bytes and lone surrogates in widget session fields and API token names, and 50,000-deep
JSON bodies, are a 400 that stores nothing — never a 500. The websocket side is
tests/chat/realtime/test_unstorable_frames.py."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import schema_context, tenant_context

from accounts import services as accounts_services
from accounts.models import ApiToken
from chat.models import Contact
from tests.chat.factories import InboxFactory
from tests.factories import logged_in, owner_email

NUL, SURROGATE = "\x00", "\ud800"
DEEP = "[" * 50_000 + "]" * 50_000


# --- widget sessions (HTTP JSON) ----------------------------------------------------------


@pytest.fixture
def inbox(db, tenant):
    with tenant_context(tenant):
        return InboxFactory()


def _session(client, inbox, body: str):
    return client.post(f"/api/widget/{inbox.public_key}/sessions", body, content_type="application/json")


def _contacts(tenant) -> int:
    with tenant_context(tenant):
        return Contact.objects.count()


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
@pytest.mark.parametrize("field", ["name", "email", "phone", "external_id", "token", "identity_hash"])
def test_widget_session_fields_with_unstorable_text_are_a_400(db, tenant, tenant_client, inbox, field, bad):
    body = json.dumps({"name": "Maria", field: f"a{bad}b"})  # \u0000 / \ud800 escapes, as a browser sends
    response = _session(tenant_client, inbox, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "bad_request"
    assert _contacts(tenant) == 0


@pytest.mark.parametrize("fields", [{"plano": f"ouro{NUL}"}, {f"pla{SURROGATE}no": "ouro"}, {"x": [{"y": SURROGATE}]}])
def test_widget_session_custom_fields_with_unstorable_text_are_a_400(db, tenant, tenant_client, inbox, fields):
    response = _session(tenant_client, inbox, json.dumps({"fields": fields}))
    assert response.status_code == 400 and _contacts(tenant) == 0


def test_deeply_nested_json_body_is_a_400(db, tenant, tenant_client, inbox):
    response = _session(tenant_client, inbox, DEEP)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    nested_object = '{"fields": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001
    assert _session(tenant_client, inbox, nested_object).status_code == 400
    assert _contacts(tenant) == 0
    assert _session(tenant_client, inbox, json.dumps({"name": "Maria"})).status_code == 200  # and it still works


def test_a_non_ascii_identity_hash_is_simply_unverified(db, tenant, tenant_client, inbox):
    response = _session(tenant_client, inbox, json.dumps({"external_id": "cliente-1", "identity_hash": "ção"}))
    assert response.status_code == 200 and _contacts(tenant) == 1


# --- API token names (settings form) -------------------------------------------------------


def test_a_token_name_with_nul_is_a_400_and_creates_nothing(db, tenant):
    owner = logged_in("alpha.localhost", owner_email("alpha"))
    response = owner.post("/settings/tokens/", {"name": f"bot{NUL}"})
    assert response.status_code == 400 and "inválidos" in response.content.decode()
    raw = owner.post("/settings/tokens/", "name=bot%00x", content_type="application/x-www-form-urlencoded")
    assert raw.status_code == 400
    # a surrogate's UTF-8 bytes cannot arrive as one (Django decodes forms with replacement)
    replaced = owner.post("/settings/tokens/", "name=bot%ED%A0%80", content_type="application/x-www-form-urlencoded")
    assert replaced.status_code == 200
    with schema_context(tenant.schema_name):
        assert list(ApiToken.objects.values_list("name", flat=True)) == ["bot\ufffd\ufffd\ufffd"]


@pytest.mark.parametrize("name", [f"bot{NUL}", f"bot{SURROGATE}", "bot\x07"])
def test_the_token_service_refuses_unstorable_names(db, tenant, name):
    from django.contrib.auth import get_user_model

    with schema_context(tenant.schema_name):
        owner = get_user_model().objects.get(email=owner_email("alpha"))
        with pytest.raises(accounts_services.ApiTokenRefused):
            accounts_services.api_token_create(user=owner, name=name)
        assert not ApiToken.objects.exists()
