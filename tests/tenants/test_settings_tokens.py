"""/settings/tokens/: every person (agents too) lists, creates and revokes their own personal
API tokens. The clear token is on the creation page only, with a copy button; revoking is a
POST with CSRF behind a confirmation; someone else's or another tenant's token is a 404;
bad names and the per-person limit are refused with a message."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from accounts import services
from accounts.models import ApiToken
from tests.factories import OWNER_PASSWORD, UserFactory, logged_in, owner_email

pytestmark = pytest.mark.django_db

ALPHA, BETA = "alpha.localhost", "beta.localhost"


@pytest.fixture
def ana(tenant):
    with tenant_context(tenant):
        return UserFactory(email="ana@alpha.example.com", name="Ana Agente", role="agent")


def _clear(html: str) -> str:
    return re.search(r'id="new-token" type="text" value="(orb_[^"]+)"', html).group(1)


def test_an_agent_creates_lists_and_revokes_a_token(tenant, ana):
    client = logged_in(ALPHA, "ana@alpha.example.com")
    home = client.get("/inbox/").content.decode()
    assert 'href="/settings/tokens/"' in home  # in the top navigation
    page = client.get("/settings/tokens/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert "Você ainda não tem tokens." in html and 'aria-current="page">Tokens de API' in html
    assert "/settings/brand/" not in html  # an agent's settings menu has only this page

    created = client.post("/settings/tokens/", {"name": "Bot <b>triagem</b>"})
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    html = created.content.decode()
    clear = _clear(html)
    assert "nunca" in html  # not used yet
    assert "não será mostrado de novo" in html and 'data-copy="new-token"' in html
    assert "Bot &lt;b&gt;triagem&lt;/b&gt;" in html and "<b>triagem</b>" not in html
    with tenant_context(tenant):
        token = ApiToken.objects.get()
        assert token.user == ana and ApiToken.objects.authenticate(clear) == ana

    listed = client.get("/settings/tokens/").content.decode()
    assert clear not in listed and f"{clear[:12]}…" in listed and token.token_hash not in listed
    row = re.search(rf'<tr id="token-{token.pk}">.*?</tr>', listed, re.S).group(0)
    assert row.count("<time") == 2 and "nunca" not in row  # created, and last used (the check above used it)
    assert f'action="/settings/tokens/{token.pk}/revoke"' in row and "<details" in row and "csrfmiddlewaretoken" in row

    assert client.get(f"/settings/tokens/{token.pk}/revoke").status_code == 405  # POST only
    revoked = client.post(f"/settings/tokens/{token.pk}/revoke", follow=True)
    assert revoked.redirect_chain[-1] == ("/settings/tokens/", 302)
    assert "revogado" in revoked.content.decode() and "Você ainda não tem tokens." in revoked.content.decode()
    with tenant_context(tenant):
        assert not ApiToken.objects.exists() and ApiToken.objects.authenticate(clear) is None


def test_admins_reach_it_from_the_settings_menu(tenant):
    owner = logged_in(ALPHA, owner_email("alpha"))
    html = owner.get("/settings/tokens/").content.decode()
    assert "/settings/brand/" in html and 'href="/settings/tokens/" aria-current="page"' in html
    assert 'href="/settings/tokens/" aria-current="page"' not in owner.get("/settings/audit/").content.decode()
    assert "Tokens de API" in owner.get("/settings/audit/").content.decode()


@pytest.mark.parametrize(("name", "message"), [("", "Dê um nome ao token."), ("   ", "Dê um nome ao token."), ("x" * 101, "no máximo 100")])
def test_bad_names_are_a_400_with_the_message_and_nothing_stored(tenant, ana, name, message):
    client = logged_in(ALPHA, "ana@alpha.example.com")
    response = client.post("/settings/tokens/", {"name": name})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'role="alert"' in html and 'aria-invalid="true"' in html
    assert 'id="new-token"' not in html
    with tenant_context(tenant):
        assert not ApiToken.objects.exists()


def test_the_per_person_limit_is_a_clear_error(tenant, ana):
    with tenant_context(tenant):
        for n in range(services.MAX_API_TOKENS):
            services.api_token_create(user=ana, name=f"bot {n}")
    client = logged_in(ALPHA, "ana@alpha.example.com")
    response = client.post("/settings/tokens/", {"name": "mais um"})
    assert response.status_code == 400
    assert "Você já tem 20 tokens, o máximo." in response.content.decode()
    english = client.post("/settings/tokens/", {"name": "one more"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "You already have 20 tokens, the maximum." in english.content.decode()
    with tenant_context(tenant):
        assert ApiToken.objects.filter(user=ana).count() == 20


def test_someone_elses_token_is_neither_seen_nor_revoked(tenant, ana):
    with tenant_context(tenant):
        bia = UserFactory(email="bia@alpha.example.com", role="agent")
        token, clear = services.api_token_create(user=bia, name="Token da Bia")
    for email in ("ana@alpha.example.com", owner_email("alpha")):  # not even the owner
        client = logged_in(ALPHA, email)
        assert "Token da Bia" not in client.get("/settings/tokens/").content.decode()
        assert client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 404
        assert client.post("/settings/tokens/999999/revoke").status_code == 404
    with tenant_context(tenant):
        assert ApiToken.objects.authenticate(clear) == bia


def test_another_tenants_token_is_a_404_and_unchanged(tenant, other_tenant, ana):
    with tenant_context(tenant):
        token, clear = services.api_token_create(user=ana, name="Token da Ana")
    beta = logged_in(BETA, owner_email("beta"))
    assert "Token da Ana" not in beta.get("/settings/tokens/").content.decode()
    assert beta.post(f"/settings/tokens/{token.pk}/revoke").status_code == 404
    # Ana's session is worthless on B's host
    a_client = logged_in(ALPHA, "ana@alpha.example.com")
    a_client.defaults["HTTP_HOST"] = BETA
    assert a_client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 302  # to B's login
    with tenant_context(tenant):
        assert ApiToken.objects.authenticate(clear) == ana


def test_anonymous_csrf_and_support_identities(tenant, ana):
    assert Client(HTTP_HOST=ALPHA).get("/settings/tokens/")["Location"].startswith("/accounts/login/")
    client = Client(HTTP_HOST=ALPHA, enforce_csrf_checks=True)
    token = client.get("/accounts/login/").cookies["csrftoken"].value
    client.post("/accounts/login/", {"username": "ana@alpha.example.com", "password": OWNER_PASSWORD, "csrfmiddlewaretoken": token})
    assert client.post("/settings/tokens/", {"name": "sem csrf"}).status_code == 403
    with tenant_context(tenant):
        mine, _clear_token = services.api_token_create(user=ana, name="meu")
    assert client.post(f"/settings/tokens/{mine.pk}/revoke").status_code == 403
    with tenant_context(tenant):
        assert ApiToken.objects.filter(user=ana).count() == 1
        support = UserFactory(email="suporte@zap.example.com", role="support")
        visitor = Client(HTTP_HOST=ALPHA)
        visitor.force_login(support)
    assert visitor.get("/settings/tokens/").status_code == 404
    assert visitor.post("/settings/tokens/", {"name": "porta dos fundos"}).status_code == 404
    assert 'href="/settings/tokens/"' not in visitor.get("/settings/brand/").content.decode()
    with tenant_context(tenant):
        assert not ApiToken.objects.filter(user=support).exists()


def test_english(tenant, ana):
    client = logged_in(ALPHA, "ana@alpha.example.com")
    html = client.get("/settings/tokens/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "API tokens" in html and "You have no tokens yet." in html and "Create token" in html
    html = client.post("/settings/tokens/", {"name": "bot"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Copy it now: it will not be shown again." in html and ">Copy<" in html
