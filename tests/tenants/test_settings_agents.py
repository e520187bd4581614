"""/settings/agents/: invite by e-mail (set-password link), roles, deactivation, seat limit; plan; audit."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from branding.services import brand_update
from tests.branding.conftest import commit, media, two_partners  # noqa: F401
from tests.conftest import host_client
from tests.factories import UserFactory, logged_in, make_organization, owner_email

User = get_user_model()


def test_invite_creates_a_person_without_password_and_mails_a_branded_set_password_link(two_partners, commit):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    with commit():
        brand_update(organization=zap, company_name="Zap Atende", email_sender_name="Zap", email_reply_to="oi@zap.example")
    owner = logged_in("padaria.localhost", owner_email("padaria"))
    with commit():
        response = owner.post("/settings/agents/invite/", {"email": "Nova@Padaria.example", "name": "Nova", "role": "agent"})
    assert response.status_code == 302
    with schema_context(padaria.schema_name):
        person = User.objects.get(email="nova@padaria.example")
        assert person.role == "agent" and not person.has_usable_password()
        assert AuditEntry.objects.filter(action="user.invite", target="nova@padaria.example").exists()
    with schema_context(oficina.schema_name):
        assert not User.objects.filter(email="nova@padaria.example").exists()
    message = mail.outbox[-1]
    assert message.to == ["nova@padaria.example"] and message.reply_to == ["oi@zap.example"]
    assert "Zap Atende" in message.subject and message.from_email.startswith("Zap")
    link = re.search(r"http://padaria\.localhost(/accounts/reset/\S+)", message.body).group(1)
    # the link lets them choose a password, then log in
    newcomer = host_client("padaria.localhost")
    form = newcomer.get(link, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = newcomer.post(form.redirect_chain[-1][0], {"new_password1": "pao-de-queijo-42", "new_password2": "pao-de-queijo-42"})
    assert done.status_code == 302
    logged_in("padaria.localhost", "nova@padaria.example", "pao-de-queijo-42")


def test_invite_refuses_duplicates_bad_roles_and_a_full_plan(db):
    company = make_organization("mercearia", plan="starter")  # 3 seats
    owner = logged_in("mercearia.localhost", owner_email("mercearia"))
    for n in range(2):
        assert owner.post("/settings/agents/invite/", {"email": f"a{n}@m.example", "role": "agent"}).status_code == 302
    full = owner.post("/settings/agents/invite/", {"email": "a9@m.example", "role": "agent"})
    assert full.status_code == 400 and full.context["form"].errors["email"]
    duplicate = owner.post("/settings/agents/invite/", {"email": "a0@m.example", "role": "agent"})
    assert "Já existe" in duplicate.context["form"].errors["email"][0]
    assert owner.post("/settings/agents/invite/", {"email": "x@m.example", "role": "owner"}).status_code == 400
    with schema_context(company.schema_name):
        assert User.objects.count() == 3
    page = owner.get("/settings/agents/").content.decode()
    assert "3 de 3 assentos" in page


def test_roles_and_deactivation_follow_the_rules_and_are_audited(two_partners):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    with schema_context(padaria.schema_name):
        agent = UserFactory(email="agente@p.example", role="agent")
        UserFactory(email="admin@p.example", role="admin")
        owner_pk = User.objects.get(email=owner_email("padaria")).pk
    owner = logged_in("padaria.localhost", owner_email("padaria"))
    owner.post(f"/settings/agents/{agent.pk}/", {"action": "role", "role": "admin"})
    owner.post(f"/settings/agents/{agent.pk}/", {"action": "deactivate"})
    as_admin = logged_in("padaria.localhost", "admin@p.example")
    as_admin.post(f"/settings/agents/{owner_pk}/", {"action": "deactivate"})  # refused: the owner
    as_admin.post(f"/settings/agents/{agent.pk}/", {"action": "reactivate"})  # refused: only the owner touches admins
    assert as_admin.post("/settings/agents/999999/", {"action": "deactivate"}).status_code == 404
    with schema_context(padaria.schema_name):
        agent.refresh_from_db()
        assert agent.role == "admin" and not agent.is_active
        assert User.objects.get(pk=owner_pk).is_active
        changes = AuditEntry.objects.exclude(action__startswith="login.").order_by("id")  # logins are audited too
        assert list(changes.values_list("action", flat=True)) == ["user.role", "user.deactivate"]
    # a deactivated person cannot log in
    assert host_client("padaria.localhost").post(
        "/accounts/login/", {"username": "agente@p.example", "password": "senha-forte-123"}).status_code == 200


def test_plan_page_shows_the_plan_and_links_to_usage(two_partners):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    owner = logged_in("padaria.localhost", owner_email("padaria"))
    page = owner.get("/settings/plan/").content.decode()
    assert "Professional" in page and 'href="/settings/usage/"' in page


def test_audit_log_is_paginated_and_only_this_tenants(two_partners):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    with schema_context(padaria.schema_name):
        AuditEntry.objects.bulk_create([AuditEntry(action="user.invite", target=f"p{n}@x") for n in range(30)])
    with schema_context(oficina.schema_name):
        AuditEntry.objects.create(action="user.invite", target="segredo@oficina")
    owner = logged_in("padaria.localhost", owner_email("padaria"))
    first = owner.get("/settings/audit/").content.decode()
    assert "Página 1 de 2" in first and "segredo@oficina" not in first
    assert owner.get("/settings/audit/?page=2").status_code == 200
    # zap's log has its owner's login, and none of padaria's people
    zap_owner = logged_in("zap.localhost", owner_email("zap"))
    assert "p1@x" not in zap_owner.get("/settings/audit/").content.decode()
    assert "Nenhum registro com estes filtros." in zap_owner.get("/settings/audit/?group=2fa").content.decode()
