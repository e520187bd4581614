"""chat.services.settings: inboxes, teams, labels and canned responses — validation with
nothing half-written, cycles, deletes; and the demo seed command."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation
from django_tenants.utils import tenant_context

from chat.models import CannedResponse, Inbox, Label, Team
from chat.services import settings as services
from tests.chat.factories import CannedResponseFactory, ConversationFactory, InboxFactory, LabelFactory, TeamFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pt_br():
    """The services' messages are pt-BR source strings; don't depend on what an earlier test activated."""
    with translation.override("pt-br"):
        yield


def errors(excinfo) -> dict:
    return excinfo.value.message_dict


def test_inbox_create_everything(in_tenant, agent):
    team = TeamFactory(name="Vendas")
    inbox = services.inbox_create(
        name="  Site  ",
        greeting="Oi",
        allowed_origins=[
            "https://WWW.Exemplo.com.br/",
            "http://localhost:8000",
            "",
            "https://www.exemplo.com.br",
            "https://café.com.br",
        ],
        business_hours={"mon": [["09:00", "18:00"]], "sat": [["09:00", "12:00"]]},
        time_zone="America/Manaus",
        prechat_fields=[{"name": "email", "required": True}, {"name": "name"}],
        require_identity=True,
        auto_assign=True,
        auto_assign_capacity=3,
        auto_assign_team=team,
        auto_resolve_after=dt.timedelta(hours=24),
        agents=[agent],
    )
    inbox.refresh_from_db()
    assert inbox.name == "Site"
    assert inbox.allowed_origins == [
        "https://www.exemplo.com.br",
        "http://localhost:8000",
        "https://xn--caf-dma.com.br",
    ]
    assert inbox.business_hours == {"mon": [["09:00", "18:00"]], "sat": [["09:00", "12:00"]]}
    assert [f["name"] for f in inbox.prechat_fields] == ["name", "email"]
    assert inbox.prechat_fields[1] == {"name": "email", "label": "E-mail", "type": "email", "required": True}
    assert inbox.auto_assign_team == team and list(inbox.agents.all()) == [agent]
    assert inbox.auto_resolve_after == dt.timedelta(hours=24) and inbox.require_identity


@pytest.mark.parametrize(
    "origin",
    [
        "ftp://exemplo.com",
        "exemplo.com",
        "https://exemplo.com/caminho",
        "https://exemplo.com?x=1",
        "https://user:pw@exemplo.com",
        "https://exem plo.com",
        "https://exemplo.com:99999",
        "javascript:alert(1)",
        "https://a.com; script-src *",
    ],
)
def test_bad_origin_refused_nothing_written(in_tenant, origin):
    with pytest.raises(ValidationError) as excinfo:
        services.inbox_create(name="X", allowed_origins=["https://ok.example.com", origin])
    assert "allowed_origins" in errors(excinfo) and "Origem inválida" in errors(excinfo)["allowed_origins"][0]
    assert not Inbox.objects.exists()


def test_update_validates_all_before_writing(in_tenant, agent):
    inbox = InboxFactory(name="Antes", allowed_origins=["https://a.example.com"])
    with pytest.raises(ValidationError) as excinfo:
        services.inbox_update(
            inbox=inbox,
            name="Depois",
            time_zone="Marte/Olympus",
            business_hours={"mon": [["18:00", "09:00"]]},
            auto_assign_capacity=0,
            agents=[agent],
        )
    assert set(errors(excinfo)) == {"time_zone", "business_hours", "auto_assign_capacity"}
    inbox.refresh_from_db()
    assert inbox.name == "Antes" and inbox.agents.count() == 0


def test_update_changes_only_given_fields(in_tenant):
    inbox = InboxFactory(name="Antes", greeting="Olá", allowed_origins=["https://a.example.com"])
    services.inbox_update(inbox=inbox, name="Depois")
    inbox.refresh_from_db()
    assert (inbox.name, inbox.greeting, inbox.allowed_origins) == ("Depois", "Olá", ["https://a.example.com"])


def test_inbox_agents_must_be_staff(in_tenant):
    inactive = UserFactory(email="fora@alpha.example.com", is_active=False)
    with pytest.raises(ValidationError) as excinfo:
        services.inbox_create(name="X", agents=[inactive])
    assert "agents" in errors(excinfo) and not Inbox.objects.exists()


def test_inbox_delete_refused_with_conversations(in_tenant):
    busy = ConversationFactory().inbox
    with pytest.raises(ValidationError) as excinfo:
        services.inbox_delete(inbox=busy)
    assert "tem conversas" in excinfo.value.messages[0]
    assert Inbox.objects.filter(pk=busy.pk).exists()
    empty = InboxFactory()
    services.inbox_delete(inbox=empty)
    assert not Inbox.objects.filter(pk=empty.pk).exists()


def test_team_nesting_and_cycles(in_tenant, agent):
    root = services.team_create(name="Atendimento", members=[agent])
    child = services.team_create(name="N1", parent=root)
    grandchild = services.team_create(name="N1 noite", parent=child)
    assert list(root.members.all()) == [agent]
    with pytest.raises(ValidationError) as excinfo:
        services.team_update(team=root, name="Renomeada", parent=grandchild)  # a cycle
    assert "parent" in errors(excinfo)
    with pytest.raises(ValidationError):
        services.team_update(team=child, parent=child)
    root.refresh_from_db()
    assert root.name == "Atendimento" and root.parent is None
    services.team_update(team=grandchild, name="Noite", parent=root)
    grandchild.refresh_from_db()
    assert grandchild.name == "Noite" and grandchild.parent == root


def test_team_delete_moves_children_up(in_tenant):
    root = TeamFactory(name="A")
    middle = TeamFactory(name="B", parent=root)
    leaf = TeamFactory(name="C", parent=middle)
    services.team_delete(team=middle)
    leaf.refresh_from_db()
    assert leaf.parent == root and not Team.objects.filter(pk=middle.pk).exists()


def test_labels(in_tenant):
    label = services.label_create(name="VIP", colour="#AABBCC")
    assert label.colour == "#aabbcc"
    for colour in ("red", "#abc", "#gggggg", "#aabbcc; x", ""):
        with pytest.raises(ValidationError) as excinfo:
            services.label_create(name=f"nova {colour}", colour=colour)
        assert "colour" in errors(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        services.label_create(name="vip", colour="#000000")
    assert "name" in errors(excinfo)
    assert Label.objects.count() == 1
    other = LabelFactory(name="outra")
    with pytest.raises(ValidationError):
        services.label_update(label=other, name="VIP", colour="#000000")
    services.label_update(label=label, name="VIP!", colour="#000000")
    services.label_delete(label=other)
    assert list(Label.objects.values_list("name", "colour")) == [("VIP!", "#000000")]


def test_canned_responses(in_tenant):
    canned = services.canned_response_create(shortcut="/Ola", text="Olá!")
    assert canned.shortcut == "ola"
    for shortcut in ("ola", "com espaço", "ação", "", "x" * 51):
        with pytest.raises(ValidationError) as excinfo:
            services.canned_response_create(shortcut=shortcut, text="t")
        assert "shortcut" in errors(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        services.canned_response_create(shortcut="vazio", text="   ")
    assert "text" in errors(excinfo)
    assert CannedResponse.objects.count() == 1
    other = CannedResponseFactory(shortcut="tchau")
    with pytest.raises(ValidationError):
        services.canned_response_update(canned_response=other, shortcut="ola", text="x")
    services.canned_response_update(canned_response=canned, shortcut="oi", text="Oi!")
    services.canned_response_delete(canned_response=other)
    assert list(CannedResponse.objects.values_list("shortcut", "text")) == [("oi", "Oi!")]


def test_seed_chat_demo_is_idempotent(tenant):
    with tenant_context(tenant):
        UserFactory(email="ana@acme.example.com")
        UserFactory(email="bruno@acme.example.com")
    call_command("seed_chat_demo", slug=tenant.slug, port="8000", base_domain="localhost")
    call_command("seed_chat_demo", slug=tenant.slug, port="8000", base_domain="localhost")
    with tenant_context(tenant):
        inbox = Inbox.objects.get()
        assert inbox.name == "Site da Acme"
        assert inbox.allowed_origins == ["http://localhost:8000", f"http://{tenant.slug}.localhost:8000"]
        team = Team.objects.get()
        assert team.name == "Suporte" and inbox.auto_assign_team == team
        assert sorted(team.members.values_list("email", flat=True)) == [
            "ana@acme.example.com",
            "bruno@acme.example.com",
        ]
        assert Label.objects.count() == 3 and CannedResponse.objects.count() == 2
