"""Personal API tokens in headless Chromium: an agent creates one, copies it with the button
(the clipboard holds the token), and revokes it behind the confirmation. Screenshots go to
tests/artifacts/."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from accounts.models import ApiToken
from tests.e2e.conftest import screenshot
from tests.e2e.test_chat import login_agent
from tests.factories import UserFactory


def test_agent_creates_copies_and_revokes_a_token(page_factory, url, tenant):
    with tenant_context(tenant):
        agent = UserFactory(email="agente@alpha.example.com", name="Ana Agente", role="agent")
    page = page_factory()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url("alpha.localhost", "").rstrip("/"))
    login_agent(page, url)
    page.goto(url("alpha.localhost", "/inbox/"))
    page.click("nav.mainnav >> text=Tokens de API")
    page.wait_for_selector("h1 >> text=Tokens de API")

    page.fill("#token-name", "")
    page.click("button >> text=Criar token")
    page.wait_for_selector("#token-error")
    assert "Dê um nome ao token." in page.inner_text("#token-error")

    page.fill("#token-name", "Bot de triagem")
    page.press("#token-name", "Enter")
    page.wait_for_selector("#new-token")
    clear = page.input_value("#new-token")
    assert clear.startswith("orb_")
    page.click("button[data-copy=new-token]")
    page.wait_for_selector("button[data-copy=new-token] >> text=Copiado")
    assert page.evaluate("navigator.clipboard.readText()") == clear
    screenshot(page, "settings-token-created")
    with tenant_context(tenant):
        assert ApiToken.objects.authenticate(clear) == agent

    # The list never shows it again; revoking asks first.
    page.goto(url("alpha.localhost", "/settings/tokens/"))
    assert clear not in page.content() and clear[:12] in page.inner_text("table.tokens")
    page.click("details.revoke summary")
    page.wait_for_selector("details.revoke[open] button.danger")
    screenshot(page, "settings-token-revoke-confirm")
    page.click("details.revoke button.danger")
    page.wait_for_selector("text=Você ainda não tem tokens.")
    assert "revogado" in page.inner_text(".messages")
    with tenant_context(tenant):
        assert ApiToken.objects.authenticate(clear) is None
