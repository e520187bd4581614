"""The widget's loader (/widget.js) and iframe page (/widget/<key>/): caching, framing
headers from the inbox's allowed origins, plan features, escaping, tenant isolation."""

from __future__ import annotations

import json
import re

import pytest
from django_tenants.utils import tenant_context

from billing.models import Plan
from chat.views.widget import frame_ancestors
from tests.chat.factories import InboxFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(tenant):
    with tenant_context(tenant):
        return InboxFactory(
            name="Loja",
            greeting="Oi <img src=x onerror=alert(1)>!",
            allowed_origins=["https://shop.example", "http://shop.localhost:8123/"],
            prechat_fields=[
                {"name": "name", "label": "Seu nome", "type": "text", "required": True},
                {"name": "email", "label": "E-mail", "type": "email"},
                {"name": "pedido", "label": "Nº do <pedido>"},
                "not a field",
            ],
        )


def config_of(html: str) -> dict:
    return json.loads(re.search(r'<script id="w-config" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_loader_is_cacheable_javascript(tenant_client):
    response = tenant_client.get("/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "public, max-age=3600"
    body = response.content.decode()
    assert "data-inbox" in body and "attachShadow" in body and "/widget/" in body
    assert tenant_client.post("/widget.js").status_code == 405


def test_frame_may_be_framed_only_by_the_inbox_origins(tenant_client, inbox):
    response = tenant_client.get(f"/widget/{inbox.public_key}/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response  # exempt: the CSP below says who may frame it
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://shop.example http://shop.localhost:8123"
    )
    assert response["Cache-Control"] == "no-store"
    # every other page keeps DENY
    assert tenant_client.get("/accounts/login/")["X-Frame-Options"] == "DENY"


def test_frame_ancestors_drops_origins_that_could_inject_directives():
    policy = frame_ancestors(allowed_origins=["https://ok.example", "https://x.example; script-src *", "*", 7, "nope"])
    assert policy == "frame-ancestors 'self' https://ok.example"


def test_frame_renders_greeting_and_prechat_escaped(tenant_client, inbox):
    html = tenant_client.get(f"/widget/{inbox.public_key}/").content.decode()
    assert "Oi &lt;img src=x onerror=alert(1)&gt;!" in html and "<img src=x" not in html
    assert "Nº do &lt;pedido&gt;" in html and 'name="pedido"' in html
    assert 'type="email"' in html and "required" in html
    config = config_of(html)
    assert config["key"] == inbox.public_key
    assert config["sessionUrl"] == f"/api/widget/{inbox.public_key}/sessions"
    assert config["socketPath"] == f"/ws/widget/{inbox.public_key}/"
    assert "hmac" not in html.lower() or inbox.hmac_secret not in html  # never the secret


def test_plan_features_reach_the_widget(tenant_client, tenant, inbox):
    plan = Plan.objects.get(pk=tenant.plan_id)
    plan.features = ["files"]
    plan.save()
    features = config_of(tenant_client.get(f"/widget/{inbox.public_key}/").content.decode())["settings"]["features"]
    assert features == {"files": True, "audio": False}
    plan.features = []
    plan.save()
    features = config_of(tenant_client.get(f"/widget/{inbox.public_key}/").content.decode())["settings"]["features"]
    assert features == {"files": False, "audio": False}


def test_offline_when_no_agent_is_online(tenant_client, inbox):
    html = tenant_client.get(f"/widget/{inbox.public_key}/").content.decode()
    assert config_of(html)["settings"]["agents_online"] is False
    assert re.search(r'<p id="w-offline" class="w-offline">', html)  # shown, not hidden
    assert "Deixe sua mensagem" in html


def test_unknown_key_and_another_tenants_key_are_404(tenant_client, other_tenant_client, inbox):
    assert tenant_client.get("/widget/nope/").status_code == 404
    response = other_tenant_client.get(f"/widget/{inbox.public_key}/")
    assert response.status_code == 404 and "Loja" not in response.content.decode()
    # and the session endpoint agrees
    assert other_tenant_client.post(
        f"/api/widget/{inbox.public_key}/sessions", "{}", content_type="application/json"
    ).status_code == 404


def test_english_frame(tenant_client, inbox):
    html = tenant_client.get(f"/widget/{inbox.public_key}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert config_of(html)["i18n"]["send"] == "Send"
