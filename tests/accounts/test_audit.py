"""The audit log: logins (with IP and browser), logouts, filters, labels in both languages,
the streaming CSV export, operators' admin changes in both logs, and isolation."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from accounts.services import audit_record
from tests.conftest import host_client
from tests.factories import OWNER_PASSWORD, UserFactory, owner_email

User = get_user_model()
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile/15E148 Safari/604.1"


def _host(org) -> str:
    return org.domains.get(is_primary=True).domain


def _t(org):
    return schema_context(org.schema_name)


@pytest.fixture
def owner_client(db, tenant):
    client = host_client(_host(tenant), HTTP_USER_AGENT=UA)
    assert client.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": OWNER_PASSWORD}).status_code == 302
    return client


def _rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_logins_and_logouts_are_recorded_with_ip_and_browser(db, tenant):
    client = host_client(_host(tenant), HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
    client.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": "wrong"})
    client.post("/accounts/login/", {"username": "nobody\x00@x.com", "password": "x"})
    client.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": OWNER_PASSWORD})
    client.post("/accounts/logout/")
    with _t(tenant):
        entries = list(AuditEntry.objects.order_by("pk").values_list("action", "target", "ip", "user_agent"))
    assert [e[0] for e in entries] == ["login.failure", "login.failure", "login.success", "logout"]
    assert entries[0][1] == owner_email(tenant.slug) and entries[1][1] == "nobody@x.com"  # no control characters
    assert all(e[2] == "203.0.113.9" and e[3] == UA for e in entries)


def test_the_client_address_comes_from_the_trusted_proxy_header_only(db, tenant, settings):
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = "X-Forwarded-For"
    settings.ORBIT_TRUSTED_PROXIES = ["10.0.0.0/8"]
    client = host_client(_host(tenant), REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.0.0.3")
    client.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": "wrong"})
    with _t(tenant):
        assert AuditEntry.objects.get(action="login.failure").ip == "198.51.100.7"


def test_the_page_filters_and_shows_labels_in_both_languages(owner_client, tenant):
    with _t(tenant):
        audit_record(action="domain.add", target="chat.acme.com.br")
        audit_record(action="user.invite", target="zoe@acme.com.br")
    page = owner_client.get("/settings/audit/", {"group": "access"}).content.decode()
    assert "Entrada na conta" in page and "Domínio adicionado" not in page and "login.success" not in page.replace('title="login.success"', "")
    page = owner_client.get("/settings/audit/", {"group": "billing"}).content.decode()
    assert "Nenhum registro com estes filtros." in page and "Exportar CSV" in page
    page = owner_client.get("/settings/audit/", {"q": "chat.acme"}).content.decode()
    assert "Domínio adicionado" in page and "Pessoa convidada" not in page
    assert owner_client.get("/settings/audit/", {"actor": owner_email(tenant.slug)}).status_code == 200

    with _t(tenant):
        User.objects.filter(email=owner_email(tenant.slug)).update(language="en")
    page = owner_client.get("/settings/audit/").content.decode()
    assert "Login" in page and "Domain added" in page and "Person invited" in page


@pytest.mark.parametrize("params,message", [
    ({"start": "2026-13-01"}, "Data inválida"),
    ({"start": "9999-01-01"}, "fora do intervalo"),
    ({"start": "2026-05-02", "end": "2026-05-01"}, "posterior"),
    ({"group": "nope"}, "desconhecido"),
    ({"q": "a\x00b"}, "caracteres inválidos"),
    ({"actor": "x" * 300}, "longo demais"),
])
def test_bad_filters_are_a_clear_400(owner_client, params, message):
    response = owner_client.get("/settings/audit/", params)
    assert response.status_code == 400 and message in response.content.decode()
    export = owner_client.get("/settings/audit/export.csv", params)
    assert export.status_code == 400 and message in export.content.decode()


def test_the_export_streams_the_filtered_log_and_is_itself_recorded(owner_client, tenant):
    with _t(tenant):
        audit_record(action="domain.add", target="=HYPERLINK(\"http://evil\")")
        audit_record(action="brand.update", target="Acme")
    response = owner_client.get("/settings/audit/export.csv", {"group": "settings"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = _rows(response)
    assert rows[0][:3] == ["quando (UTC)", "ação", "descrição"]
    actions = [row[1] for row in rows[1:]]
    assert sorted(actions) == ["brand.update", "domain.add"]
    domain = next(row for row in rows[1:] if row[1] == "domain.add")
    assert domain[2] == "Domínio adicionado" and domain[5].startswith("'=")  # never a formula
    with _t(tenant):
        entry = AuditEntry.objects.get(action="audit.export")
    assert entry.actor_email == owner_email(tenant.slug) and entry.target == "group=settings"


def test_agents_and_other_tenants_see_nothing(db, tenant, other_tenant, owner_client):
    with _t(tenant):
        audit_record(action="domain.add", target="segredo-da-alpha.com.br")
        UserFactory(email="ag@alpha.example.com")
    agent = host_client(_host(tenant))
    agent.post("/accounts/login/", {"username": "ag@alpha.example.com", "password": OWNER_PASSWORD})
    assert agent.get("/settings/audit/").status_code == 404
    assert agent.get("/settings/audit/export.csv").status_code == 404

    beta = host_client(_host(other_tenant))
    beta.post("/accounts/login/", {"username": owner_email(other_tenant.slug), "password": OWNER_PASSWORD})
    assert "segredo-da-alpha" not in beta.get("/settings/audit/").content.decode()
    assert "segredo-da-alpha" not in "".join(",".join(r) for r in _rows(beta.get("/settings/audit/export.csv")))
    # alpha's session cookie is worthless on beta's export
    intruder = host_client(_host(other_tenant))
    intruder.cookies["sessionid"] = owner_client.cookies["sessionid"].value
    assert intruder.get("/settings/audit/export.csv").status_code == 302


# --- the operator ----------------------------------------------------------------------------


@pytest.fixture
def operator(db):
    connection.set_schema_to_public()
    AuditEntry.objects.all().delete()  # what committed tests left in the operators' log (rolled back after)
    User.objects.create_superuser("op@orbit.localhost", OWNER_PASSWORD)
    client = host_client("localhost", HTTP_USER_AGENT=UA)
    assert client.post("/admin/login/", {"username": "op@orbit.localhost", "password": OWNER_PASSWORD}).status_code == 302
    return client


def test_an_operator_action_lands_in_both_logs(operator, tenant, other_tenant):
    payload = {"action": "suspend_selected", "_selected_action": [tenant.pk]}
    response = operator.post("/admin/tenants/organization/", payload)
    if response.status_code == 200:  # a confirmation page: nothing done, nothing recorded
        connection.set_schema_to_public()
        assert not AuditEntry.objects.filter(action__startswith="admin.").exists()
        response = operator.post("/admin/tenants/organization/", {**payload, "confirmed": "yes"})
    assert response.status_code == 302
    connection.set_schema_to_public()
    mine = AuditEntry.objects.get(action="admin.action")
    assert mine.actor_email == "op@orbit.localhost" and mine.tenant == tenant.slug
    assert mine.detail["name"] == "suspend_selected" and mine.user_agent == UA
    with _t(tenant):
        theirs = AuditEntry.objects.get(action="admin.action")
    assert theirs.actor_label == "operador op@orbit.localhost" and theirs.detail["model"] == "tenants.organization"
    with _t(other_tenant):
        assert not AuditEntry.objects.filter(action__startswith="admin.").exists()
    # the operator's log is in the admin, with labels, and exportable
    page = operator.get("/admin/accounts/auditentry/")
    assert page.status_code == 200 and "Operador: ação em lote" in page.content.decode()
    connection.set_schema_to_public()
    ids = list(AuditEntry.objects.values_list("pk", flat=True))
    export = operator.post("/admin/accounts/auditentry/", {"action": "export_csv", "_selected_action": ids})
    assert export.status_code == 200
    assert "admin.action" in [row[1] for row in _rows(export)]


def test_a_refused_admin_form_records_nothing(operator):
    response = operator.post("/admin/accounts/user/add/", {"email": "not-an-email", "password1": "x", "password2": "y"})
    assert response.status_code == 200
    connection.set_schema_to_public()
    assert not AuditEntry.objects.filter(action__startswith="admin.").exists()
    operator.post("/admin/accounts/user/add/", {"email": "op2@orbit.localhost", "usable_password": "false"})
    connection.set_schema_to_public()
    entry = AuditEntry.objects.get(action="admin.add")
    assert entry.detail["model"] == "accounts.user" and entry.tenant == ""


def test_every_action_written_anywhere_has_a_label(db):
    """No raw code on the page: every action some app writes has a label in both languages."""
    import re
    from pathlib import Path

    from django.utils import translation

    from accounts.audit import ACTION_LABELS, action_label

    root = Path(__file__).resolve().parents[2]
    written = set()
    for path in [*root.glob("*/**/*.py")]:
        if ".venv" in path.parts or "tests" in path.parts or "migrations" in path.parts:
            continue
        written |= set(re.findall(r'audit(?:_record)?\(\s*(?:organization=[^,]+,\s*)?action="([a-z0-9_.]+)"', path.read_text()))
        written |= {f"chat.{a}" for a in re.findall(r'\baudit\("([a-z_.]+)"', path.read_text())}
    written |= {f"billing.plan.{kind}" for kind in ("upgrade", "downgrade", "cycle", "same", "cancel_scheduled")}
    unknown = sorted(a for a in written if a not in ACTION_LABELS)
    assert not unknown, unknown
    with translation.override("en"):
        assert action_label("2fa.enable") == "Two-factor authentication turned on"
        assert action_label("billing.something_new").startswith("Billing: ")


def test_a_download_no_view_recorded_is_recorded_as_an_export(owner_client, tenant):
    response = owner_client.get("/reports/conversations.csv", {"start": "2026-01-01", "end": "2026-01-31"})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    with _t(tenant):
        entry = AuditEntry.objects.get(action="export.download")
    assert entry.target == "conversations-2026-01-01-2026-01-31.csv" and entry.ip == "127.0.0.1"
    # the audit export records itself, once
    b"".join(owner_client.get("/settings/audit/export.csv").streaming_content)
    with _t(tenant):
        assert AuditEntry.objects.filter(action="audit.export").count() == 1
        assert AuditEntry.objects.filter(action="export.download").count() == 1
    # a refused export (bad range) is nothing
    assert owner_client.get("/reports/conversations.csv", {"start": "x"}).status_code == 400
    with _t(tenant):
        assert AuditEntry.objects.filter(action="export.download").count() == 1
