"""Two-factor authentication: enrolment, login with a code or a recovery code, limits,
requirements (owner, partner, operators), bad input and tenant isolation, over HTTP."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import AuditEntry, RecoveryCode, TotpDevice
from accounts.platform.models import TwoFactorPolicy
from tests.accounts.twofa import device_code, enrol, person, recovery_codes_in
from tests.conftest import host_client
from tests.factories import OWNER_PASSWORD, UserFactory, owner_email

User = get_user_model()
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def _host(org) -> str:
    return org.domains.get(is_primary=True).domain


def _login(client, email, password=OWNER_PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def _owner(tenant):
    return person(tenant, owner_email(tenant.slug))


def _t(tenant):
    """The test's own ORM reads in `tenant`'s schema (a request leaves the connection on public)."""
    return schema_context(tenant.schema_name)


@pytest.fixture
def owner_client(db, tenant):
    client = host_client(_host(tenant), HTTP_USER_AGENT=UA)
    assert _login(client, owner_email(tenant.slug)).status_code == 302
    return client


def test_enrolment_shows_an_inline_svg_qr_code_and_confirms_with_a_code(owner_client, tenant):
    page = owner_client.get("/accounts/security/2fa/setup/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "<img" not in html.split("<main", 1)[1].split("</main>")[0]
    owner = _owner(tenant)
    with _t(tenant):
        device = TotpDevice.objects.get(user=owner)
    assert not device.confirmed and device.key  # an enrolment in progress protects nothing yet
    assert 'id="totp-secret"' in html

    response = owner_client.post("/accounts/security/2fa/setup/", {"code": device_code(owner)})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    codes = recovery_codes_in(response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    with _t(tenant):
        device.refresh_from_db()
    assert device.confirmed
    # only salted hashes are kept: no clear code anywhere in the table
    with _t(tenant):
        stored = list(RecoveryCode.objects.filter(user=owner).values_list("salt", "code_hash"))
    assert len(stored) == 10 and not any(code in "".join(s + h for s, h in stored) for code in codes)
    with _t(tenant):
        entry = AuditEntry.objects.get(action="2fa.enable")
    assert entry.actor_email == owner.email and entry.user_agent == UA and entry.ip == "127.0.0.1"
    # the security page says so
    assert "ativa" in owner_client.get("/accounts/security/").content.decode()


def test_a_wrong_first_code_enables_nothing(owner_client, tenant):
    owner_client.get("/accounts/security/2fa/setup/")
    owner = _owner(tenant)
    wrong = "000000" if device_code(owner) != "000000" else "111111"
    response = owner_client.post("/accounts/security/2fa/setup/", {"code": wrong})
    assert response.status_code == 400
    assert "Código incorreto" in response.content.decode()
    with _t(tenant):
        assert not TotpDevice.objects.filter(user=owner, confirmed=True).exists()
    with _t(tenant):
        assert not RecoveryCode.objects.filter(user=owner).exists()
    with _t(tenant):
        assert not AuditEntry.objects.filter(action="2fa.enable").exists()


@pytest.mark.parametrize("body", ["code=12345", "code=abc%00def", "code=" + "1" * 41, "code=%ED%A0%80", "code=+++", "x=1"])
def test_bad_codes_are_a_clear_400(owner_client, tenant, body):
    owner_client.get("/accounts/security/2fa/setup/")
    response = owner_client.post("/accounts/security/2fa/setup/", body,
                                 content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    with _t(tenant):
        assert not TotpDevice.objects.filter(user=_owner(tenant), confirmed=True).exists()


def test_login_with_a_code_takes_two_steps(owner_client, tenant):
    owner = _owner(tenant)
    enrol(owner_client, owner)
    client = host_client(_host(tenant), HTTP_USER_AGENT=UA)
    response = _login(client, owner.email)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/"
    # the password alone logged nobody in
    assert client.get("/").status_code == 302
    page = client.get("/accounts/login/verify/")
    assert page.status_code == 200 and owner.email in page.content.decode()

    response = client.post("/accounts/login/verify/", {"code": device_code(owner, step_offset=1)})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    with _t(tenant):
        entry = AuditEntry.objects.filter(action="login.success").order_by("-pk").first()
    assert entry.detail == {"method": "totp"} and entry.ip == "127.0.0.1" and entry.user_agent == UA
    # the same code does not work twice (replay)
    again = host_client(_host(tenant))
    _login(again, owner.email)
    assert again.post("/accounts/login/verify/", {"code": device_code(owner, step_offset=1)}).status_code == 400


def test_a_recovery_code_logs_in_once(owner_client, tenant):
    owner = _owner(tenant)
    codes = enrol(owner_client, owner)
    client = host_client(_host(tenant))
    _login(client, owner.email)
    response = client.post("/accounts/login/verify/", {"code": codes[3].upper().replace("-", " ")})
    assert response.status_code == 302
    with _t(tenant):
        assert AuditEntry.objects.filter(action="2fa.recovery_used").exists()
    with _t(tenant):
        assert RecoveryCode.objects.filter(user=owner, used_at__isnull=True).count() == 9

    other = host_client(_host(tenant))
    _login(other, owner.email)
    assert other.post("/accounts/login/verify/", {"code": codes[3]}).status_code == 400
    assert other.get("/").status_code == 302


def test_wrong_codes_start_the_login_over(owner_client, tenant, settings):
    owner = _owner(tenant)
    enrol(owner_client, owner)
    client = host_client(_host(tenant))
    _login(client, owner.email)
    right = device_code(owner)
    wrong = "000000" if right != "000000" else "111111"
    for attempt in range(settings.ORBIT_2FA_MAX_ATTEMPTS - 1):
        response = client.post("/accounts/login/verify/", {"code": wrong})
        assert response.status_code == 400, attempt
    response = client.post("/accounts/login/verify/", {"code": wrong})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    with _t(tenant):
        assert AuditEntry.objects.filter(action="login.2fa_locked").count() == 1
    with _t(tenant):
        assert AuditEntry.objects.filter(action="login.2fa_failure").count() == settings.ORBIT_2FA_MAX_ATTEMPTS
    # the pending login is gone: even the right code does nothing now
    assert client.post("/accounts/login/verify/", {"code": right}).status_code == 302
    assert client.get("/").status_code == 302
    # and the device is throttled (django-otp): a right code right after wrong ones waits
    with _t(tenant):
        device = TotpDevice.objects.get(user=owner)
    assert device.throttling_failure_count >= 1 and device.throttling_failure_timestamp is not None


def test_the_code_step_is_limited_per_ip_like_the_password(owner_client, tenant, settings):
    settings.BILLING_LOGIN_IP_RATE = "3/5m"
    owner = _owner(tenant)
    enrol(owner_client, owner)
    client = host_client(_host(tenant))
    _login(client, owner.email)
    statuses = [client.post("/accounts/login/verify/", {"code": "000001"}).status_code for _ in range(4)]
    assert 429 in statuses


def test_a_pending_login_is_worthless_on_another_tenant(owner_client, tenant, other_tenant):
    owner = _owner(tenant)
    enrol(owner_client, owner)
    client = host_client(_host(tenant))
    _login(client, owner.email)
    intruder = host_client(_host(other_tenant))
    intruder.cookies["sessionid"] = client.cookies["sessionid"].value
    response = intruder.post("/accounts/login/verify/", {"code": device_code(owner)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert intruder.get("/").status_code == 302
    # the device lives in the tenant's schema only
    with schema_context(other_tenant.schema_name):
        assert not TotpDevice.objects.exists()
        assert not AuditEntry.objects.filter(action="2fa.enable").exists()


def test_the_other_tenants_people_log_in_without_a_code(owner_client, tenant, other_tenant):
    enrol(owner_client, _owner(tenant))
    client = host_client(_host(other_tenant))
    response = _login(client, owner_email(other_tenant.slug))
    assert response.status_code == 302 and response["Location"] == "/"


def test_disabling_needs_a_code(owner_client, tenant):
    owner = _owner(tenant)
    enrol(owner_client, owner)
    refused = owner_client.post("/accounts/security/2fa/disable/", {"code": "000000" if device_code(owner) != "000000" else "111111"})
    assert refused.status_code == 400
    with _t(tenant):
        assert TotpDevice.objects.filter(user=owner, confirmed=True).exists()
    time.sleep(1.1)  # django-otp's throttling: one second after a wrong code
    response = owner_client.post("/accounts/security/2fa/disable/", {"code": device_code(owner, step_offset=1)})
    assert response.status_code == 302
    with _t(tenant):
        assert not TotpDevice.objects.filter(user=owner).exists() and not RecoveryCode.objects.filter(user=owner).exists()
    with _t(tenant):
        assert AuditEntry.objects.filter(action="2fa.disable").exists()


def test_new_recovery_codes_replace_the_old_ones(owner_client, tenant):
    owner = _owner(tenant)
    old = enrol(owner_client, owner)
    response = owner_client.post("/accounts/security/2fa/recovery-codes/", {"code": device_code(owner, step_offset=1)})
    new = recovery_codes_in(response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    client = host_client(_host(tenant))
    _login(client, owner.email)
    assert client.post("/accounts/login/verify/", {"code": old[0]}).status_code == 400


# --- requirements ---------------------------------------------------------------------------


def test_the_owner_requires_it_only_after_enabling_their_own(owner_client, tenant):
    response = owner_client.post("/accounts/security/2fa/policy/", {"require_all": "on"})
    assert response.status_code == 400
    assert "Ative a verificação em duas etapas na sua própria conta" in response.content.decode()
    with _t(tenant):
        assert not TwoFactorPolicy.objects.filter(organization_id=tenant.pk).exists()

    enrol(owner_client, _owner(tenant))
    assert owner_client.post("/accounts/security/2fa/policy/", {"require_all": "on"}).status_code == 302
    with _t(tenant):
        assert TwoFactorPolicy.objects.get(organization_id=tenant.pk).require_all
    with _t(tenant):
        assert AuditEntry.objects.filter(action="2fa.policy").exists()
    # a company is nobody's partner
    assert owner_client.post("/accounts/security/2fa/policy/", {"require_clients": "on"}).status_code == 400


def test_an_agent_cannot_set_the_requirement(db, tenant):
    with schema_context(tenant.schema_name):
        UserFactory(email="ag@alpha.example.com", role="admin")
    client = host_client(_host(tenant))
    _login(client, "ag@alpha.example.com")
    assert client.post("/accounts/security/2fa/policy/", {"require_all": "on"}).status_code == 400
    with _t(tenant):
        assert not TwoFactorPolicy.objects.filter(organization_id=tenant.pk).exists()


def test_when_required_an_open_session_must_enrol_and_the_next_login_too(owner_client, tenant):
    with schema_context(tenant.schema_name):
        UserFactory(email="agente@alpha.example.com")
    agent = person(tenant, "agente@alpha.example.com")
    agent_client = host_client(_host(tenant))
    assert _login(agent_client, agent.email)["Location"] == "/"
    enrol(owner_client, _owner(tenant))
    owner_client.post("/accounts/security/2fa/policy/", {"require_all": "on"})

    # the agent's open session goes to enrolment on its next page
    response = agent_client.get("/inbox/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/setup/"
    page = agent_client.get("/accounts/login/setup/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    response = agent_client.post("/accounts/login/setup/", {"code": device_code(agent)})
    assert response.status_code == 200 and len(recovery_codes_in(response.content.decode())) == 10
    assert agent_client.get("/inbox/").status_code == 200
    # disabling is refused while required
    refused = agent_client.post("/accounts/security/2fa/disable/", {"code": device_code(agent, step_offset=1)})
    with _t(tenant):
        assert refused.status_code == 400 and TotpDevice.objects.filter(user=agent, confirmed=True).exists()

    # a new login of someone without a device goes straight to enrolment
    with schema_context(tenant.schema_name):
        UserFactory(email="novo@alpha.example.com")
    fresh = host_client(_host(tenant))
    assert _login(fresh, "novo@alpha.example.com")["Location"] == "/accounts/login/setup/"
    assert fresh.get("/").status_code == 302


def test_a_partner_requires_it_of_its_clients(db, tenant, other_tenant):
    from tenants.models import Organization

    with _t(tenant):
        Organization.objects.filter(pk=other_tenant.pk).update(kind="partner")
    with _t(tenant):
        Organization.objects.filter(pk=tenant.pk).update(parent=other_tenant)
    partner_owner = host_client(_host(other_tenant))
    _login(partner_owner, owner_email(other_tenant.slug))
    enrol(partner_owner, person(other_tenant, owner_email(other_tenant.slug)))
    assert partner_owner.post("/accounts/security/2fa/policy/", {"require_clients": "on"}).status_code == 302
    with _t(tenant):
        policy = TwoFactorPolicy.objects.get(organization_id=other_tenant.pk)
    assert policy.require_clients and not policy.require_all

    # the client's owner must enrol; the client's page says who requires it
    client = host_client(_host(tenant))
    assert _login(client, owner_email(tenant.slug))["Location"] == "/accounts/login/setup/"
    owner = _owner(tenant)
    client.get("/accounts/login/setup/")
    client.post("/accounts/login/setup/", {"code": device_code(owner)})
    page = client.get("/accounts/security/").content.decode()
    assert other_tenant.name in page and "exige a verificação em duas etapas de todos os seus clientes" in page
    # the partner's own people are not required (require_all is off)
    with schema_context(other_tenant.schema_name):
        UserFactory(email="ag@beta.example.com")
    assert _login(host_client(_host(other_tenant)), "ag@beta.example.com")["Location"] == "/"


# --- operators -----------------------------------------------------------------------------


@pytest.fixture
def operator(db, settings):
    settings.ORBIT_2FA_OPERATORS = True
    connection.set_schema_to_public()
    return User.objects.create_superuser("op@orbit.localhost", OWNER_PASSWORD)


def test_operators_always_enrol_then_enter_the_admin_with_a_code(operator):
    client = host_client("localhost", HTTP_USER_AGENT=UA)
    response = client.post("/admin/login/?next=/admin/", {"username": operator.email, "password": OWNER_PASSWORD,
                                                         "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/login/setup/"
    assert client.get("/admin/").status_code == 302
    page = client.get("/admin/login/setup/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    done = client.post("/admin/login/setup/", {"code": device_code(operator)})
    assert done.status_code == 200 and len(recovery_codes_in(done.content.decode())) == 10
    assert client.get("/admin/").status_code == 200
    # in the operator's own log (public schema)
    connection.set_schema_to_public()
    assert AuditEntry.objects.filter(action="2fa.enable", actor_email=operator.email).exists()
    assert AuditEntry.objects.filter(action="login.success", actor_email=operator.email).exists()

    again = host_client("localhost")
    response = again.post("/admin/login/", {"username": operator.email, "password": OWNER_PASSWORD})
    assert response["Location"] == "/admin/login/verify/"
    assert again.post("/admin/login/verify/", {"code": device_code(operator, step_offset=1)})["Location"] == "/admin/"
    assert again.get("/admin/").status_code == 200


def test_an_operator_session_without_the_second_factor_is_sent_back(operator):
    client = host_client("localhost")
    client.force_login(operator)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/setup/"
    assert client.get("/admin/tenants/organization/").status_code == 302


def test_wrong_operator_password_is_in_the_operators_log(operator):
    client = host_client("localhost")
    response = client.post("/admin/login/", {"username": operator.email, "password": "nope"})
    assert response.status_code == 200 and response.context["form"].errors
    connection.set_schema_to_public()
    entry = AuditEntry.objects.get(action="login.failure")
    assert entry.target == operator.email and entry.ip == "127.0.0.1"


# --- a lost phone ------------------------------------------------------------------------------


def test_an_owner_resets_a_persons_lost_second_factor(owner_client, tenant, other_tenant):
    with _t(tenant):
        UserFactory(email="perdeu@alpha.example.com")
    agent = person(tenant, "perdeu@alpha.example.com")
    agent_client = host_client(_host(tenant))
    _login(agent_client, agent.email)
    enrol(agent_client, agent)
    page = owner_client.get("/accounts/security/").content.decode()
    assert "perdeu@alpha.example.com" in page

    response = owner_client.post(f"/accounts/security/2fa/reset/{agent.pk}/")
    assert response.status_code == 302
    with _t(tenant):
        assert not TotpDevice.objects.filter(user=agent).exists() and not RecoveryCode.objects.filter(user=agent).exists()
        assert AuditEntry.objects.get(action="2fa.reset").target == agent.email
    assert agent_client.get("/").status_code == 302  # their sessions ended
    assert _login(host_client(_host(tenant)), agent.email)["Location"] == "/"  # nothing required here


def test_reset_refusals(owner_client, tenant, other_tenant):
    owner = _owner(tenant)
    enrol(owner_client, owner)
    # not oneself, and an agent may not reset anyone
    assert owner_client.post(f"/accounts/security/2fa/reset/{owner.pk}/").status_code == 400
    with _t(tenant):
        UserFactory(email="ag2@alpha.example.com")
    agent = host_client(_host(tenant))
    _login(agent, "ag2@alpha.example.com")
    assert agent.post(f"/accounts/security/2fa/reset/{owner.pk}/").status_code == 404
    with _t(tenant):
        assert TotpDevice.objects.filter(user=owner, confirmed=True).exists()
    # another tenant's owner cannot reach this person (the id means someone else, or nobody, there)
    beta = host_client(_host(other_tenant))
    _login(beta, owner_email(other_tenant.slug))
    assert beta.post(f"/accounts/security/2fa/reset/{owner.pk}/").status_code in (400, 404)
    with _t(tenant):
        assert TotpDevice.objects.filter(user=owner, confirmed=True).exists()


def test_the_code_step_keeps_where_the_person_was_going_and_only_here(owner_client, tenant):
    owner = _owner(tenant)
    codes = enrol(owner_client, owner)
    client = host_client(_host(tenant))
    response = client.post("/accounts/login/?next=/settings/audit/", {"username": owner.email, "password": OWNER_PASSWORD,
                                                                       "next": "/settings/audit/"})
    assert response["Location"] == "/accounts/login/verify/"
    assert client.post("/accounts/login/verify/", {"code": device_code(owner, step_offset=1)})["Location"] == "/settings/audit/"
    evil = host_client(_host(tenant))
    evil.post("/accounts/login/", {"username": owner.email, "password": OWNER_PASSWORD, "next": "https://evil.example/"})
    assert evil.post("/accounts/login/verify/", {"code": codes[0]})["Location"] == "/"
