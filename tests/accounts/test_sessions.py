"""A person's sessions: listed with device, IP and last use; one revoked, or all others."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django_tenants.utils import schema_context

from accounts.models import AuditEntry, UserSession
from accounts.usersessions import describe_user_agent
from tests.conftest import host_client
from tests.factories import OWNER_PASSWORD, owner_email

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1"


def _host(org) -> str:
    return org.domains.get(is_primary=True).domain


def _browser(org, ua, ip="127.0.0.1"):
    client = host_client(_host(org), HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)
    assert client.post("/accounts/login/", {"username": owner_email(org.slug), "password": OWNER_PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    return client


def test_sessions_are_listed_and_one_can_be_revoked(db, tenant):
    desk = _browser(tenant, CHROME, "198.51.100.1")
    phone = _browser(tenant, IPHONE, "198.51.100.2")
    page = desk.get("/accounts/security/").content.decode()
    assert "Chrome · Linux" in page and "Safari · iOS" in page and "198.51.100.2" in page
    with schema_context(tenant.schema_name):
        phone_row = UserSession.objects.get(user_agent=IPHONE)
        mine = UserSession.objects.get(user_agent=CHROME)
    # the current session cannot be revoked here (that is "log out")
    assert desk.post(f"/accounts/security/sessions/{mine.pk}/revoke/").status_code == 404
    response = desk.post(f"/accounts/security/sessions/{phone_row.pk}/revoke/")
    assert response.status_code == 302
    assert phone.get("/").status_code == 302  # logged out
    assert desk.get("/").status_code == 200
    with schema_context(tenant.schema_name):
        assert not UserSession.objects.filter(pk=phone_row.pk).exists()
        entry = AuditEntry.objects.get(action="session.revoke")
    assert entry.target == "Safari · iOS" and entry.detail == {"ip": "198.51.100.2"}


def test_log_out_everywhere_else(db, tenant):
    desk = _browser(tenant, CHROME)
    others = [_browser(tenant, IPHONE) for _ in range(2)]
    # a session no request touched since it began (no row yet) goes too
    untracked = host_client(_host(tenant))
    untracked.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": OWNER_PASSWORD})
    response = desk.post("/accounts/security/sessions/revoke-others/", follow=True)
    assert "3" in response.content.decode()
    assert all(client.get("/").status_code == 302 for client in [*others, untracked])
    assert desk.get("/").status_code == 200
    with schema_context(tenant.schema_name):
        assert AuditEntry.objects.get(action="session.revoke_all").detail == {"sessions": 3}


def test_nobody_revokes_another_persons_or_another_tenants_session(db, tenant, other_tenant):
    alpha = _browser(tenant, CHROME)
    beta = _browser(other_tenant, IPHONE)
    with schema_context(other_tenant.schema_name):
        beta_row = UserSession.objects.get()
    with schema_context(tenant.schema_name):
        taken = set(UserSession.objects.values_list("pk", flat=True))
    # an id of beta's row on alpha's host is "not found" (or alpha's own, never beta's)
    if beta_row.pk not in taken:
        assert alpha.post(f"/accounts/security/sessions/{beta_row.pk}/revoke/").status_code == 404
    assert beta.get("/").status_code == 200
    assert "Safari · iOS" not in alpha.get("/accounts/security/").content.decode()
    with schema_context(other_tenant.schema_name):
        assert Session.objects.exists()


def test_logout_removes_the_row(db, tenant):
    client = _browser(tenant, CHROME)
    client.post("/accounts/logout/")
    with schema_context(tenant.schema_name):
        assert not UserSession.objects.exists()


def test_revoke_needs_a_post_and_a_login(db, tenant):
    client = _browser(tenant, CHROME)
    assert client.get("/accounts/security/sessions/revoke-others/").status_code == 405
    anonymous = host_client(_host(tenant))
    response = anonymous.post("/accounts/security/sessions/revoke-others/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/").status_code == 200


def test_user_agents_read_as_devices():
    from django.utils import translation

    with translation.override("pt-br"):
        assert describe_user_agent("") == "Navegador desconhecido"
    with translation.override("en"):
        assert describe_user_agent("") == "Unknown browser"
    assert describe_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) ... Edg/131.0") == "Edge · Windows"
    assert describe_user_agent("curl/8.5.0") == "curl"


def test_socket_helpers_see_revoked_and_unverified_sessions(db, tenant):
    """What the websocket handshake and heartbeat ask (no middleware runs there)."""
    from importlib import import_module

    from django.conf import settings

    from accounts import twofactor, usersessions
    from accounts.platform.models import TwoFactorPolicy
    from tests.accounts.twofa import person

    client = _browser(tenant, CHROME)
    key = client.cookies["sessionid"].value
    owner = person(tenant, owner_email(tenant.slug))
    with schema_context(tenant.schema_name):
        store = import_module(settings.SESSION_ENGINE).SessionStore(key)
        assert usersessions.session_alive(session_key=key)
        assert twofactor.session_admits(session=store, user=owner, organization=tenant)
        TwoFactorPolicy.objects.create(organization=tenant, require_all=True)
        assert not twofactor.session_admits(session=store, user=owner, organization=tenant)
    client.post("/accounts/logout/")
    with schema_context(tenant.schema_name):
        assert not usersessions.session_alive(session_key=key)
