"""The agent inbox pages: list and filters, conversation view, history upwards, row and panel
fragments, side-panel actions; refusals (anonymous, unknown or invisible conversation, bad
input) and tenant isolation."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from chat import services
from chat.models import Conversation, Message
from tenants.models import Organization
from tests.chat.factories import (
    CannedResponseFactory,
    ContactFactory,
    ConversationFactory,
    InboxFactory,
    LabelFactory,
    TeamFactory,
    new_client_id,
)
from tests.factories import OWNER_PASSWORD, UserFactory, logged_in, owner_email

pytestmark = pytest.mark.django_db

ALPHA, BETA = "alpha.localhost", "beta.localhost"


@pytest.fixture
def alpha_chat(tenant):
    """Tenant A: an inbox, an agent, two conversations with messages, a label, a team."""
    with tenant_context(tenant):
        agent = UserFactory(email="ana@alpha.example.com", name="Ana Agente")
        inbox = InboxFactory(name="Loja A")
        team = TeamFactory(name="Vendas")
        team.members.add(agent)
        first = ConversationFactory(inbox=inbox, contact=ContactFactory(name="Carla Cliente"), assignee=agent)
        second = ConversationFactory(inbox=inbox, contact=ContactFactory(name="Davi <b>Visitante</b>"))
        for n in range(3):
            services.message_send(conversation=first, sender=first.contact, body=f"pergunta {n}", client_id=new_client_id())
        services.message_send(
            conversation=first, sender=agent, body="resposta <script>alert(1)</script>", client_id=new_client_id()
        )
        services.message_send(conversation=first, sender=agent, body="nota interna", client_id=new_client_id(), is_private=True)
        first.labels.add(LabelFactory(name="vip"))
        CannedResponseFactory(shortcut="obrigado", text="Obrigado pelo contato!")
    return {"agent": agent, "inbox": inbox, "team": team, "first": first, "second": second}


def agent_client(host: str = ALPHA, email: str = "ana@alpha.example.com"):
    return logged_in(host, email)


def test_anonymous_is_sent_to_login(tenant, client):
    response = client.get("/inbox/", HTTP_HOST=ALPHA)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_list_shows_conversations_unread_counts_and_escapes_names(alpha_chat):
    page = agent_client().get("/inbox/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Carla Cliente" in html
    assert "Davi &lt;b&gt;Visitante&lt;/b&gt;" in html and "<b>Visitante</b>" not in html
    row = re.search(rf'id="row-{alpha_chat["first"].pk}".*?</li>', html, re.S).group(0)
    assert re.search(r'class="unread"[^>]*>3<', row)  # three visitor messages, none read
    assert 'src="/static/chat/vendor/htmx.min.js"' in html and 'id="inbox-config"' in html


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("filter=mine", ["Carla Cliente"], ["Davi"]),
        ("filter=unassigned", ["Davi"], ["Carla Cliente"]),
        ("filter=all&label=vip", ["Carla Cliente"], ["Davi"]),
        ("filter=all&status=resolved", [], ["Carla Cliente", "Davi"]),
        ("filter=bogus&status=bogus&team=x", ["Carla Cliente", "Davi"], []),  # unknown → defaults, not 500
    ],
)
def test_filters(alpha_chat, query, expected, absent):
    html = agent_client().get(f"/inbox/?{query}").content.decode()
    rows = html.split('id="conv-rows"')[1]
    for name in expected:
        assert name in rows
    for name in absent:
        assert name not in rows


def _alpha():
    """Tenant A's schema, for direct reads and writes in a test."""
    return tenant_context(Organization.objects.get(slug="alpha"))


def test_team_filter_and_htmx_fragment(alpha_chat):
    with _alpha():
        Conversation.objects.filter(pk=alpha_chat["second"].pk).update(team=alpha_chat["team"])
    response = agent_client().get(
        f"/inbox/?filter=all&team={alpha_chat['team'].pk}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="conv-list"
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="conv-list"' in html
    assert "Davi" in html and "Carla Cliente" not in html


def test_conversation_page_shows_history_notes_escaped_and_panel(alpha_chat):
    conv = alpha_chat["first"]
    page = agent_client().get(f"/inbox/c/{conv.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "pergunta 0" in html and "nota interna" in html and "msg--private" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'id="conv-side"' in html and "vip" in html and "Carla Cliente" in html
    assert '"obrigado": "Obrigado pelo contato!"' in html  # canned responses for the composer
    assert f'"conversation": {conv.pk}' in html and '"lastSeq": 5' in html


def test_history_is_paginated_upwards(alpha_chat):
    conv = alpha_chat["first"]
    with _alpha():
        for n in range(60):
            services.message_send(conversation=conv, sender=conv.contact, body=f"extra {n}", client_id=new_client_id())
    client = agent_client()
    html = client.get(f"/inbox/c/{conv.pk}/").content.decode()
    assert "extra 59" in html and "extra 9<" not in html and "pergunta 0" not in html
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', html)]
    assert seqs == list(range(16, 66))  # the latest 50 of 65
    older = client.get(f"/inbox/c/{conv.pk}/older?before=16").content.decode()
    assert [int(s) for s in re.findall(r'data-seq="(\d+)"', older)] == list(range(1, 16))
    assert "Carregar mensagens anteriores" not in older  # that was the first page
    assert client.get(f"/inbox/c/{conv.pk}/older?before=x").status_code == 400


def test_unknown_and_foreign_conversations_are_404(alpha_chat, other_tenant):
    client = agent_client()
    for path in ("/inbox/c/999999/", "/inbox/c/999999/older?before=5", "/inbox/c/999999/panel"):
        assert client.get(path).status_code == 404
    assert client.post("/inbox/c/999999/status", {"status": "resolved"}).status_code == 404
    assert client.get("/inbox/c/999999/row").status_code == 204  # not in the list = no row


def test_agent_outside_the_inbox_and_team_sees_404(alpha_chat):
    with _alpha():
        outsider = UserFactory(email="fora@alpha.example.com")
        other_team = TeamFactory(name="Outra")
        other_team.members.add(outsider)
        restricted = InboxFactory(name="Restrita")
        restricted.agents.add(alpha_chat["agent"])
        hidden = ConversationFactory(inbox=restricted, contact=ContactFactory(name="Secreta"))
    client = agent_client(email="fora@alpha.example.com")
    assert client.get(f"/inbox/c/{hidden.pk}/").status_code == 404
    assert client.post(f"/inbox/c/{hidden.pk}/status", {"status": "resolved"}).status_code == 404
    assert "Secreta" not in client.get("/inbox/?filter=all").content.decode()
    with _alpha():
        assert Conversation.objects.get(pk=hidden.pk).status == "open"


def test_actions_resolve_reopen_assign_transfer_labels(alpha_chat):
    conv, agent, team = alpha_chat["second"], alpha_chat["agent"], alpha_chat["team"]
    client = agent_client()
    hx = {"HTTP_HX_REQUEST": "true"}
    response = client.post(f"/inbox/c/{conv.pk}/status", {"status": "resolved"}, **hx)
    assert response.status_code == 200 and 'id="reopen"' in response.content.decode()
    assert client.post(f"/inbox/c/{conv.pk}/status", {"status": "open"}).status_code == 302  # without htmx: PRG
    assert client.post(f"/inbox/c/{conv.pk}/status", {"status": "nope"}, **hx).status_code == 400
    assert client.post(f"/inbox/c/{conv.pk}/assign", {"agent": agent.pk}, **hx).status_code == 200
    with _alpha():
        assert Conversation.objects.get(pk=conv.pk).assignee_id == agent.pk
    assert client.post(f"/inbox/c/{conv.pk}/assign", {"agent": "", "team": team.pk}, **hx).status_code == 200
    with _alpha():
        moved = Conversation.objects.get(pk=conv.pk)
        assert moved.team_id == team.pk and moved.status == "open"
    assert client.post(f"/inbox/c/{conv.pk}/assign", {"agent": "424242"}, **hx).status_code == 400
    client.post(f"/inbox/c/{conv.pk}/labels", {"add": "urgente, retorno"}, **hx)
    panel = client.post(f"/inbox/c/{conv.pk}/labels", {"remove": "retorno"}, **hx).content.decode()
    assert "urgente" in panel and "retorno" not in panel.split("label-names")[0]
    assert client.post(f"/inbox/c/{conv.pk}/labels", {"add": " "}, **hx).status_code == 400
    with _alpha():
        assert sorted(Conversation.objects.get(pk=conv.pk).labels.values_list("name", flat=True)) == ["urgente"]


def test_actions_need_csrf(alpha_chat):
    from django.test import Client

    client = Client(HTTP_HOST=ALPHA, enforce_csrf_checks=True)
    login = client.get("/accounts/login/")
    token = login.cookies["csrftoken"].value
    client.post("/accounts/login/", {"username": "ana@alpha.example.com", "password": OWNER_PASSWORD, "csrfmiddlewaretoken": token})
    conv = alpha_chat["second"]
    assert client.post(f"/inbox/c/{conv.pk}/status", {"status": "resolved"}).status_code == 403
    with _alpha():
        assert Conversation.objects.get(pk=conv.pk).status == "open"


def test_row_fragment_follows_filters(alpha_chat):
    conv = alpha_chat["first"]
    client = agent_client()
    html = client.get(f"/inbox/c/{conv.pk}/row?filter=all&status=open").content.decode()
    assert html.startswith('<li class="conv-row"') and "Carla Cliente" in html
    assert client.get(f"/inbox/c/{conv.pk}/row?filter=unassigned").status_code == 204


def test_tenant_b_never_sees_tenant_a(alpha_chat, other_tenant):
    conv = alpha_chat["first"]
    beta = logged_in(BETA, owner_email("beta"))
    assert "Carla Cliente" not in beta.get("/inbox/?filter=all").content.decode()
    for path in (f"/inbox/c/{conv.pk}/", f"/inbox/c/{conv.pk}/panel", f"/inbox/c/{conv.pk}/older?before=3"):
        assert beta.get(path).status_code == 404
    assert beta.get(f"/inbox/c/{conv.pk}/row?filter=all").status_code == 204
    assert beta.post(f"/inbox/c/{conv.pk}/status", {"status": "resolved"}).status_code == 404
    # A's session cookie is worthless on B's host
    a_client = agent_client()
    a_client.defaults["HTTP_HOST"] = BETA
    assert a_client.get("/inbox/").status_code == 302
    with _alpha():
        assert Conversation.objects.get(pk=conv.pk).status == "open"
        assert Message.objects.filter(conversation=conv).count() == 5
def test_english(alpha_chat):
    client = agent_client()
    html = client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Conversations" in html and "Keyboard shortcuts" in html


def test_composer_offers_only_what_the_plan_allows(alpha_chat, tenant):
    """No record button without the audio feature (the upload would be refused), no file button without files or audio."""
    from billing.models import Plan

    conv = alpha_chat["first"]
    html = agent_client().get(f"/inbox/c/{conv.pk}/").content.decode()
    assert 'id="composer-record"' in html and re.search(r'<label class="button ghost" for="composer-file">', html)
    plan = Plan.objects.get(pk=tenant.plan_id)
    plan.features = ["files"]
    plan.save()
    html = agent_client().get(f"/inbox/c/{conv.pk}/").content.decode()
    assert 'id="composer-record"' not in html and re.search(r'<label class="button ghost" for="composer-file">', html)
    plan.features = []
    plan.save()
    html = agent_client().get(f"/inbox/c/{conv.pk}/").content.decode()
    assert 'id="composer-record"' not in html
    assert re.search(r'for="composer-file" hidden>', html) and re.search(r'id="composer-file" class="visually-hidden" disabled', html)
