"""Chat's settings pages: admins only (agents get the settings 404), forms show the services'
errors with nothing written, tenant isolation by id, the embed snippet and the preview page."""

from __future__ import annotations

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context

from accounts.models import AuditEntry
from chat.models import CannedResponse, Inbox, Label, Team
from tests.chat.factories import ConversationFactory, InboxFactory, LabelFactory, TeamFactory
from tests.e2e.conftest import browser, live_server_port, page_factory, screenshot, url  # noqa: F401
from tests.e2e.test_chat import click_launcher, widget_frame
from tests.factories import OWNER_PASSWORD, UserFactory, logged_in, owner_email


@pytest.fixture(autouse=True)
def _database(request):
    """Rolled-back database access, except for the browser test (committed: the live server reads it)."""
    if "live_db" not in request.fixturenames:
        request.getfixturevalue("db")


ALPHA, BETA = "alpha.localhost", "beta.localhost"
PAGES = [
    "/settings/chat/inboxes/",
    "/settings/chat/inboxes/new",
    "/settings/chat/teams/",
    "/settings/chat/labels/",
    "/settings/chat/canned/",
]


def inbox_post(**overrides) -> dict:
    data = {
        "name": "Site",
        "greeting": "Olá!",
        "allowed_origins": "https://www.exemplo.com.br\nhttp://localhost:8000",
        "time_zone": "America/Sao_Paulo",
        "mon_open": "on",
        "mon_start": "09:00",
        "mon_end": "18:00",
        "ask_email": "on",
        "require_email": "on",
        "ask_name": "on",
        "auto_assign": "on",
        "auto_assign_capacity": "4",
        "auto_resolve_hours": "12",
    }
    data.update(overrides)
    return data


@pytest.fixture
def owner(tenant):
    return logged_in(ALPHA, owner_email("alpha"))


def test_pages_render_with_empty_states_and_tabs(owner):
    for page in PAGES:
        response = owner.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert 'href="/settings/chat/teams/"' in html and 'href="/settings/agents/"' in html
        assert '<a href="/settings/" aria-current="page">' in html  # the top nav's "Configurações"
        assert '<a href="/inbox/" aria-current="page">' not in html
    assert "Nenhuma caixa de entrada ainda" in owner.get("/settings/chat/inboxes/").content.decode()
    assert "Nenhuma equipe ainda" in owner.get("/settings/chat/teams/").content.decode()
    # the tenants' own settings pages show chat's tabs too
    assert 'href="/settings/chat/inboxes/"' in owner.get("/settings/agents/").content.decode()


def test_create_inbox_then_snippet_secret_and_preview(tenant, owner):
    response = owner.post("/settings/chat/inboxes/new", inbox_post())
    assert response.status_code == 302
    with tenant_context(tenant):
        inbox = Inbox.objects.get()
        assert inbox.allowed_origins == ["https://www.exemplo.com.br", "http://localhost:8000"]
        assert inbox.business_hours == {"mon": [["09:00", "18:00"]]}
        assert [(f["name"], f["required"]) for f in inbox.prechat_fields] == [("name", False), ("email", True)]
        assert inbox.auto_assign_capacity == 4 and inbox.auto_resolve_after.total_seconds() == 12 * 3600
    assert response["Location"] == f"/settings/chat/inboxes/{inbox.pk}/"
    with tenant_context(tenant):
        entry = AuditEntry.objects.get(action="chat.inbox.create")
        assert (entry.actor_email, entry.target) == (owner_email("alpha"), "Site")
    html = owner.get(response["Location"]).content.decode()
    assert (
        f"&lt;script src=&quot;http://{ALPHA}/widget.js&quot; data-inbox=&quot;{inbox.public_key}&quot; async&gt;"
        "&lt;/script&gt;" in html
    )
    assert f'type="password" readonly value="{inbox.hmac_secret}"' in html and "hmac.new(" in html
    assert f"/settings/chat/inboxes/{inbox.pk}/preview" in html and "Testar widget" in html
    preview = owner.get(f"/settings/chat/inboxes/{inbox.pk}/preview")
    assert preview.status_code == 200
    assert f'<script src="/widget.js" data-inbox="{inbox.public_key}" async></script>' in preview.content.decode()
    # the widget frame may be embedded by the tenant's own host (the preview page)
    frame = owner.get(f"/widget/{inbox.public_key}/")
    assert "frame-ancestors 'self'" in frame["Content-Security-Policy"]


def test_edit_inbox_keeps_values_and_shows_errors(tenant, owner):
    with tenant_context(tenant):
        inbox = InboxFactory(name="Antes", allowed_origins=["https://a.example.com"])
    page = owner.get(f"/settings/chat/inboxes/{inbox.pk}/").content.decode()
    assert "https://a.example.com</textarea>" in page
    bad = owner.post(
        f"/settings/chat/inboxes/{inbox.pk}/",
        inbox_post(name="Depois", allowed_origins="https://ok.example.com\nnot an origin", time_zone="Lua/Base"),
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "Origem inválida: not an origin" in html and "Fuso horário desconhecido" in html
    with tenant_context(tenant):
        inbox.refresh_from_db()
        assert inbox.name == "Antes" and inbox.allowed_origins == ["https://a.example.com"]
    ok = owner.post(f"/settings/chat/inboxes/{inbox.pk}/", inbox_post(name="Depois", auto_assign=""))
    assert ok.status_code == 302
    with tenant_context(tenant):
        inbox.refresh_from_db()
        assert inbox.name == "Depois" and not inbox.auto_assign


def test_day_open_without_times_is_a_form_error(owner, tenant):
    response = owner.post("/settings/chat/inboxes/new", inbox_post(tue_open="on"))
    assert response.status_code == 400 and "Informe início e fim" in response.content.decode()
    with tenant_context(tenant):
        assert not Inbox.objects.exists()


def test_delete_inbox_with_conversations_refused(tenant, owner):
    with tenant_context(tenant):
        busy = ConversationFactory().inbox
        empty = InboxFactory()
    response = owner.post(f"/settings/chat/inboxes/{busy.pk}/delete", follow=True)
    assert "tem conversas e não pode ser excluída" in response.content.decode()
    assert owner.post(f"/settings/chat/inboxes/{empty.pk}/delete").status_code == 302
    with tenant_context(tenant):
        assert list(Inbox.objects.values_list("pk", flat=True)) == [busy.pk]


def test_teams_create_nest_members_cycle_delete(tenant, owner):
    with tenant_context(tenant):
        ana = UserFactory(email="ana@alpha.example.com", name="Ana")
    assert owner.post("/settings/chat/teams/", {"name": "Atendimento", "members": [ana.pk]}).status_code == 302
    with tenant_context(tenant):
        root = Team.objects.get()
    assert owner.post("/settings/chat/teams/", {"name": "N1", "parent": root.pk}).status_code == 302
    with tenant_context(tenant):
        child = Team.objects.get(name="N1")
        assert list(root.members.all()) == [ana]
    cycle = owner.post(f"/settings/chat/teams/{root.pk}/", {"name": "Raiz", "parent": child.pk})
    assert cycle.status_code == 400 and "não pode ficar dentro dela mesma" in cycle.content.decode()
    with tenant_context(tenant):
        root.refresh_from_db()
        assert root.name == "Atendimento" and root.parent is None
    assert owner.post(f"/settings/chat/teams/{child.pk}/", {"name": "Nível 1", "parent": ""}).status_code == 302
    assert owner.post(f"/settings/chat/teams/{root.pk}/delete").status_code == 302
    with tenant_context(tenant):
        assert list(Team.objects.values_list("name", "parent")) == [("Nível 1", None)]


def test_labels_and_canned_responses(tenant, owner):
    assert owner.post("/settings/chat/labels/", {"name": "VIP", "colour": "#112233"}).status_code == 302
    bad = owner.post("/settings/chat/labels/", {"name": "Outra", "colour": "vermelho"})
    assert bad.status_code == 400 and "#rrggbb" in bad.content.decode()
    dup = owner.post("/settings/chat/labels/", {"name": "vip", "colour": "#000000"})
    assert dup.status_code == 400 and "Já existe uma etiqueta" in dup.content.decode()
    assert owner.post("/settings/chat/canned/", {"shortcut": "ola", "text": "Olá!"}).status_code == 302
    dup = owner.post("/settings/chat/canned/", {"shortcut": "ola", "text": "Oi"})
    assert dup.status_code == 400 and "Já existe uma resposta pronta" in dup.content.decode()
    with tenant_context(tenant):
        label, canned = Label.objects.get(), CannedResponse.objects.get()
    assert owner.post(f"/settings/chat/labels/{label.pk}/", {"name": "Ouro", "colour": "#ffd700"}).status_code == 302
    assert owner.post(f"/settings/chat/canned/{canned.pk}/", {"shortcut": "oi", "text": "Oi!"}).status_code == 302
    with tenant_context(tenant):
        assert list(Label.objects.values_list("name", "colour")) == [("Ouro", "#ffd700")]
        assert list(CannedResponse.objects.values_list("shortcut", "text")) == [("oi", "Oi!")]
    assert owner.post(f"/settings/chat/labels/{label.pk}/delete").status_code == 302
    assert owner.post(f"/settings/chat/canned/{canned.pk}/delete").status_code == 302
    with tenant_context(tenant):
        assert not Label.objects.exists() and not CannedResponse.objects.exists()


def test_agents_and_strangers_refused(tenant, client):
    with tenant_context(tenant):
        UserFactory(email="agente@alpha.example.com", role="agent")
        inbox = InboxFactory()
    assert client.get("/settings/chat/inboxes/", HTTP_HOST=ALPHA).status_code == 302  # to login
    agent = logged_in(ALPHA, "agente@alpha.example.com")
    assert agent.get("/settings/agents/").status_code == 404  # the same as the other settings pages
    for page in [*PAGES, f"/settings/chat/inboxes/{inbox.pk}/", f"/settings/chat/inboxes/{inbox.pk}/preview"]:
        assert agent.get(page).status_code == 404, page
    assert agent.post("/settings/chat/labels/", {"name": "x", "colour": "#000000"}).status_code == 404
    assert agent.post(f"/settings/chat/inboxes/{inbox.pk}/delete").status_code == 404
    with tenant_context(tenant):
        assert Inbox.objects.filter(pk=inbox.pk).exists() and not Label.objects.exists()


def test_other_tenant_admin_gets_the_same_404(tenant, other_tenant):
    with tenant_context(tenant):
        inbox = InboxFactory(name="Só da Alpha")
        team = TeamFactory()
        label = LabelFactory(name="alpha")
    beta = logged_in(BETA, owner_email("beta"))
    missing = beta.get("/settings/chat/inboxes/999999/")
    assert missing.status_code == 404
    for page in [
        f"/settings/chat/inboxes/{inbox.pk}/",
        f"/settings/chat/inboxes/{inbox.pk}/preview",
        f"/settings/chat/teams/{team.pk}/",
        f"/settings/chat/labels/{label.pk}/",
    ]:
        response = beta.get(page)
        assert response.status_code == 404 and response.content == missing.content, page
    assert beta.post(f"/settings/chat/inboxes/{inbox.pk}/", inbox_post(name="Roubada")).status_code == 404
    assert beta.post(f"/settings/chat/inboxes/{inbox.pk}/delete").status_code == 404
    assert "Só da Alpha" not in beta.get("/settings/chat/inboxes/").content.decode()
    # alpha's session is not a session on beta's host
    alpha = logged_in(ALPHA, owner_email("alpha"))
    assert alpha.get(f"/settings/chat/inboxes/{inbox.pk}/", HTTP_HOST=BETA).status_code == 302
    with tenant_context(tenant):
        assert Inbox.objects.get(pk=inbox.pk).name == "Só da Alpha"


def test_english(tenant, owner):
    with translation.override("pt-br"):  # the request activates English; put pt-BR back for the next tests
        with tenant_context(tenant):
            InboxFactory()
        html = owner.get("/settings/chat/inboxes/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Inboxes" in html and "Teams" in html and "New inbox" in html
        bad = owner.post("/settings/chat/labels/", {"name": "x", "colour": "red"}, HTTP_ACCEPT_LANGUAGE="en")
        assert "Use a colour as #rrggbb" in bad.content.decode()


def test_browser_admin_creates_an_inbox_and_tries_the_widget(page_factory, url, tenant):  # noqa: F811
    """In Chromium: an owner creates an inbox through the form, copies the snippet, reveals the
    secret, opens the preview page on the tenant's own host and sends a message through the widget."""
    page = page_factory()
    page.goto(url(ALPHA, "/accounts/login/"))
    page.fill("#id_username", owner_email("alpha"))
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(url(ALPHA, "/settings/chat/inboxes/"))
    page.wait_for_selector("text=Nenhuma caixa de entrada ainda")
    page.click("text=Nova caixa de entrada")
    page.fill("#id_name", "Loja")
    page.fill("#id_allowed_origins", "https://loja.example.com")
    page.check("#id_ask_email")
    page.click("button[type=submit] >> text=Criar caixa de entrada")
    page.wait_for_selector("#embed-snippet")
    with tenant_context(tenant):
        inbox = Inbox.objects.get(name="Loja")
    snippet = page.inner_text("#embed-snippet")
    assert snippet == f'<script src="{url(ALPHA, "/widget.js")}" data-inbox="{inbox.public_key}" async></script>'
    assert page.get_attribute("#hmac-secret", "type") == "password"
    page.click("button[data-reveal]")
    assert page.get_attribute("#hmac-secret", "type") == "text"
    screenshot(page, "chat-settings-inbox")
    page.goto(url(ALPHA, f"/settings/chat/inboxes/{inbox.pk}/preview"))
    frame = widget_frame(page)
    click_launcher(page)
    frame.wait_for_selector("#w-prechat input[name=email]", state="visible")  # the pre-chat form asks for it
    frame.fill("#w-prechat input[name=email]", "visitante@example.com")
    frame.click("#w-prechat button[type=submit]")
    frame.wait_for_selector("#w-body", state="visible")
    if frame.is_visible("#w-email"):
        frame.fill("#w-email", "visitante@example.com")
    frame.fill("#w-body", "Testando o widget")
    frame.press("#w-body", "Enter")
    frame.wait_for_selector(".m-me[data-id]")
    page.wait_for_timeout(300)
    assert "must be" not in frame.inner_text("body")  # no error frame (e.g. typing before a conversation)
    screenshot(page, "chat-settings-widget-preview")
    with tenant_context(tenant):
        assert inbox.conversations.get().messages.get().body == "Testando o widget"
    page.goto(url(ALPHA, "/settings/chat/teams/"))
    page.fill("#id_name", "Suporte")
    page.click("button[type=submit] >> text=Criar equipe")
    page.wait_for_selector("td >> text=Suporte")
    screenshot(page, "chat-settings-teams")
    page.goto(url(ALPHA, "/settings/chat/labels/"))
    page.fill("#id_name", "vip")
    page.click("button[type=submit] >> text=Criar etiqueta")
    page.wait_for_selector("td >> text=vip")
    screenshot(page, "chat-settings-labels")
