"""Human-facing forms are throttled per tenant and IP and per tenant and account (issue 12,
item 4): password reset, invitations, widget sessions — django-ratelimit decorators on the
shared cache, answering 429 (a page or JSON) and doing nothing else; e-mail links go to the
tenant's own address, never to the request's Host."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django_tenants.utils import schema_context, tenant_context

from billing import ratelimit
from tenants.models import Domain
from tests.chat.factories import InboxFactory
from tests.conftest import host_client
from tests.factories import UserFactory, logged_in, owner_email

RESET = "/accounts/password-reset/"


def _reset(client, email, ip="198.51.100.1"):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)


# --- password reset ---------------------------------------------------------------------


def test_reset_requests_for_one_account_stop_sending_mail(db, tenant, other_tenant, settings):
    settings.BILLING_PASSWORD_RESET_ACCOUNT_RATE = "3/h"
    client = host_client("alpha.localhost")
    mail.outbox.clear()
    statuses = [_reset(client, owner_email("alpha"), ip=f"198.51.100.{i}").status_code for i in range(25)]
    assert statuses[:3] == [302] * 3 and set(statuses[3:]) == {429}  # whatever the address
    assert len(mail.outbox) == 3
    refused = _reset(client, owner_email("alpha").upper())  # the same account, written otherwise
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"].startswith("text/html") and "Muitas tentativas" in refused.content.decode()
    # the same e-mail on another tenant is another account; showing the form costs nothing
    assert _reset(host_client("beta.localhost"), owner_email("alpha")).status_code == 302
    assert client.get(RESET).status_code == 200
    assert len(mail.outbox) == 3


def test_reset_requests_from_one_address_are_limited_across_accounts(db, tenant, settings):
    settings.BILLING_PASSWORD_RESET_IP_RATE = "4/h"
    client = host_client("alpha.localhost")
    statuses = [_reset(client, f"pessoa{i}@example.com", ip="203.0.113.9").status_code for i in range(6)]
    assert statuses == [302, 302, 302, 302, 429, 429]
    assert _reset(client, "outra@example.com", ip="203.0.113.10").status_code == 302


def test_the_refusal_page_speaks_english_to_an_english_browser(db, tenant, settings):
    settings.BILLING_PASSWORD_RESET_ACCOUNT_RATE = "1/h"
    client = host_client("alpha.localhost", HTTP_ACCEPT_LANGUAGE="en")
    _reset(client, owner_email("alpha"))
    body = _reset(client, owner_email("alpha")).content.decode()
    assert "Too many attempts" in body and "Muitas tentativas" not in body


def test_the_throttle_keys_carry_the_tenant(db, tenant, other_tenant):
    from django.test import RequestFactory

    limit = ratelimit.per_ip("password-reset-ip", "BILLING_PASSWORD_RESET_IP_RATE")
    keys = []
    for org in (tenant, other_tenant):
        request = RequestFactory().post(RESET, REMOTE_ADDR="203.0.113.9")
        request.tenant = org
        keys.append(limit.key(limit.group, request))
    assert keys == [f"{tenant.schema_name}|password-reset-ip|203.0.113.9",
                    f"{other_tenant.schema_name}|password-reset-ip|203.0.113.9"]


def _link(message) -> str:
    return re.search(r"(https?://\S+)/accounts/reset/", message.body).group(1)


def test_the_reset_link_uses_the_tenants_primary_domain_not_the_host_header(db, tenant, settings):
    Domain.objects.create(tenant=tenant, domain="chat.alpha.example", is_primary=False, is_verified=True)
    mail.outbox.clear()
    for host in ("alpha.localhost:6666", "chat.alpha.example", "ALPHA.localhost"):
        assert host_client(host).post(RESET, {"email": owner_email("alpha")}).status_code == 302, host
    assert [_link(m) for m in mail.outbox] == ["http://alpha.localhost"] * 3
    # behind TLS, on a public port of its own
    settings.SESSION_COOKIE_SECURE, settings.ORBIT_PUBLIC_PORT = True, "8443"
    host_client("chat.alpha.example").post(RESET, {"email": owner_email("alpha")})
    assert _link(mail.outbox[-1]) == "https://alpha.localhost:8443"
    # a custom domain made primary is the tenant's address from then on
    Domain.objects.filter(tenant=tenant).update(is_primary=False)
    Domain.objects.filter(domain="chat.alpha.example").update(is_primary=True)
    settings.ORBIT_PUBLIC_PORT = "443"
    host_client("alpha.localhost:1234").post(RESET, {"email": owner_email("alpha")})
    assert _link(mail.outbox[-1]) == "https://chat.alpha.example"


# --- invitations ------------------------------------------------------------------------


def test_invitations_per_inviting_person(db, tenant, settings, django_capture_on_commit_callbacks):
    settings.BILLING_INVITE_ACCOUNT_RATE = "2/h"
    owner = logged_in("alpha.localhost", owner_email("alpha"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the e-mails go out on commit
        codes = [owner.post("/settings/agents/invite/", {"email": f"a{n}@alpha.example", "role": "agent"},
                            REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(4)]
    assert codes == [302, 302, 429, 429]
    with schema_context(tenant.schema_name):
        assert set(get_user_model().objects.filter(email__endswith="@alpha.example").values_list("email", flat=True)) == {
            "a0@alpha.example", "a1@alpha.example"}
    assert len(mail.outbox) == 2
    assert all(re.search(r"http://alpha\.localhost/accounts/reset/", m.body) for m in mail.outbox)
    # another admin of the same tenant has their own window
    with schema_context(tenant.schema_name):
        UserFactory(email="admin2@alpha.example.com", role="admin")
    other_admin = logged_in("alpha.localhost", "admin2@alpha.example.com")
    assert other_admin.post("/settings/agents/invite/", {"email": "a9@alpha.example", "role": "agent"}).status_code == 302


def test_invitations_per_address(db, tenant, settings):
    settings.BILLING_INVITE_IP_RATE = "1/h"
    owner = logged_in("alpha.localhost", owner_email("alpha"))
    post = lambda email: owner.post("/settings/agents/invite/", {"email": email, "role": "agent"},  # noqa: E731
                                    REMOTE_ADDR="203.0.113.20")
    assert post("b0@alpha.example").status_code == 302
    refused = post("b1@alpha.example")
    assert refused.status_code == 429 and "Muitas tentativas" in refused.content.decode()


def test_invitation_links_ignore_the_host_header(db, tenant, django_capture_on_commit_callbacks):
    owner = logged_in("alpha.localhost:6666", owner_email("alpha"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post("/settings/agents/invite/", {"email": "c0@alpha.example", "role": "agent"})
    assert response.status_code == 302
    assert "http://alpha.localhost/accounts/reset/" in mail.outbox[-1].body
    assert ":6666" not in mail.outbox[-1].body


# --- widget sessions --------------------------------------------------------------------


@pytest.fixture
def inbox(tenant):
    with tenant_context(tenant):
        return InboxFactory()


def _session(client, inbox, payload=None, ip="198.51.100.1"):
    return client.post(f"/api/widget/{inbox.public_key}/sessions", json.dumps(payload or {}),
                       content_type="application/json", REMOTE_ADDR=ip)


def test_widget_sessions_per_visitor_address(db, tenant, tenant_client, inbox, settings):
    settings.BILLING_WIDGET_SESSION_IP_RATE = "3/m"
    assert [_session(tenant_client, inbox, ip="203.0.113.30").status_code for _ in range(3)] == [200] * 3
    refused = _session(tenant_client, inbox, ip="203.0.113.30")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited" and refused.json()["error"]["message"]
    assert _session(tenant_client, inbox, ip="203.0.113.31").status_code == 200
    from chat.models import Contact

    with tenant_context(tenant):
        assert Contact.objects.count() == 4  # the refused one created nobody


def test_widget_sessions_per_visitor_identity(db, tenant, tenant_client, inbox, settings):
    settings.BILLING_WIDGET_SESSION_ACCOUNT_RATE = "2/m"
    who = {"email": "visitante@example.com"}
    codes = [_session(tenant_client, inbox, who, ip=f"198.51.100.{i}").status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert _session(tenant_client, inbox, {"email": "outra@example.com"}, ip="198.51.100.9").status_code == 200
    # anonymous visitors share no identity window
    assert all(_session(tenant_client, inbox, ip=f"198.51.100.{20 + i}").status_code == 200 for i in range(3))


# --- login: limited once, by the middleware's BILLING_LOGIN_* windows ----------------------


def test_login_is_limited_once_and_refused_with_a_page(db, tenant, settings):
    settings.BILLING_LOGIN_ACCOUNT_RATE = "3/5m"
    client = host_client("alpha.localhost")
    data = {"username": owner_email("alpha"), "password": "errada"}
    codes = [client.post("/accounts/login/", data, REMOTE_ADDR=f"10.0.0.{i}").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]  # three attempts, not fewer: nothing else counts them
    refused = client.post("/accounts/login/", data)
    assert refused["Content-Type"].startswith("text/html") and "Muitas tentativas" in refused.content.decode()
    assert int(refused["Retry-After"]) >= 1 and refused["RateLimit"].startswith('"login-account";r=0')
