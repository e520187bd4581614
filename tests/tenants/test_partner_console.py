"""The partner console: a partner sees and touches only its own clients; a holding reads
its subsidiaries; CSV import with progress; audited, expiring support access."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import AuditEntry
from branding.selectors import effective_brand
from branding.services import brand_update
from tenants.models import BulkImport, Organization, SupportGrant
from tenants.services import SUPPORT_SESSION_SECONDS, bulk_import_run
from tests.branding.conftest import commit, two_partners  # noqa: F401
from tests.conftest import host_client
from tests.factories import UserFactory, logged_in, make_organization, owner_email

User = get_user_model()


@pytest.fixture
def zap_console(two_partners):  # noqa: F811
    return logged_in("zap.localhost", owner_email("zap"))


def test_the_list_shows_only_the_partners_own_clients_with_search_filter_and_pages(two_partners, zap_console):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    for n in range(26):
        Organization.objects.create(
            schema_name=f"t_fake{n}", name=f"Loja {n:02d}", slug=f"loja-{n:02d}", parent=zap, plan=zap.plan,
            status="trial")  # public rows only: listing never opens their schemas
    first = zap_console.get("/clients/").content.decode()
    assert "Padaria Central" not in first or "Loja" in first
    assert "Oficina" not in first
    assert "Página 1 de 2" in first
    second = zap_console.get("/clients/?page=2").content.decode()
    assert "Padaria Central" in first + second and "Oficina" not in second
    found = zap_console.get("/clients/", {"q": "padaria"}).content.decode()
    assert "Padaria Central" in found and "Loja 01" not in found
    assert "Oficina" not in zap_console.get("/clients/", {"q": "oficina"}).content.decode()
    trials = zap_console.get("/clients/", {"status": "trial"}).content.decode()
    assert "Loja 00" in trials and "Padaria Central" not in trials
    assert "Nenhum cliente corresponde" in zap_console.get("/clients/", {"q": "zzz"}).content.decode()


def test_another_partners_client_looks_exactly_like_a_missing_one(two_partners, zap_console):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    for slug in ("oficina", "nao-existe"):
        assert zap_console.get(f"/clients/{slug}/").status_code == 404
        assert zap_console.post(f"/clients/{slug}/status/", {"action": "suspend"}).status_code == 404
        assert zap_console.post(f"/clients/{slug}/support/").status_code == 404
    oficina.refresh_from_db()
    assert oficina.status == "active"
    assert not SupportGrant.objects.exists()
    assert zap_console.get("/clients/padaria/").status_code == 200


def test_only_a_partners_or_holdings_admins_open_the_console(two_partners):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    with schema_context(zap.schema_name):
        UserFactory(email="agente@zap.example", role="agent")
    assert logged_in("zap.localhost", "agente@zap.example").get("/clients/").status_code == 404
    assert logged_in("padaria.localhost", owner_email("padaria")).get("/clients/").status_code == 404
    assert host_client("zap.localhost").get("/clients/").status_code == 302


def test_a_holding_reads_its_subsidiaries_and_changes_nothing(db):
    holding = make_organization("grupo", kind="holding", name="Grupo Sul")
    filial = make_organization("filial", parent=holding, name="Filial Norte")
    console = logged_in("grupo.localhost", owner_email("grupo"))
    listing = console.get("/clients/").content.decode()
    assert "Filial Norte" in listing and "somente de leitura" in listing and "/clients/new/" not in listing
    assert console.get("/clients/filial/").status_code == 200
    assert console.get("/clients/new/").status_code == 404
    assert console.post("/clients/filial/status/", {"action": "suspend"}).status_code == 404
    assert console.post("/clients/filial/support/").status_code == 404
    filial.refresh_from_db()
    assert filial.status == "active"


def test_create_a_client_that_inherits_the_brand_and_whose_owner_is_invited(two_partners, zap_console, commit):  # noqa: F811
    zap, *_ = two_partners
    with commit():
        brand_update(organization=zap, company_name="Zap Atende", email_sender_name="Zap")
    with commit():
        response = zap_console.post(
            "/clients/new/", {"name": "Sorveteria Gelada", "plan": "starter", "owner_email": "dona@sorvete.example"})
    assert response.status_code == 302
    client = Organization.objects.get(slug="sorveteria-gelada")
    assert client.parent_id == zap.pk and client.kind == "company" and client.plan.code == "starter"
    assert effective_brand(client).company_name == "Zap Atende"
    message = mail.outbox[-1]
    assert message.to == ["dona@sorvete.example"] and "Zap Atende" in message.subject
    assert "http://sorveteria-gelada.localhost/accounts/reset/" in message.body
    # bad input is a clear error and creates nothing
    again = zap_console.post("/clients/new/", {"name": "Sorveteria Gelada", "plan": "starter", "owner_email": "x@y.example"})
    assert again.status_code == 400 and "already exists" in again.content.decode()
    with schema_context(zap.schema_name):
        assert AuditEntry.objects.filter(action="client.create", target="sorveteria-gelada").exists()


def test_suspend_and_reactivate_a_client(two_partners, zap_console, commit):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    with commit():
        zap_console.post("/clients/padaria/status/", {"action": "suspend"})
    assert host_client("padaria.localhost").get("/accounts/login/").status_code == 403
    with commit():
        zap_console.post("/clients/padaria/status/", {"action": "activate"})
    assert host_client("padaria.localhost").get("/accounts/login/").status_code == 200


def test_csv_import_checks_the_whole_file_then_creates_row_by_row_with_progress(two_partners, zap_console):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    bad = zap_console.post("/clients/import/", {"file": SimpleUploadedFile("c.csv", b"name,plan,kind\nX,starter,partner\n")})
    assert bad.status_code == 400 and "unknown column" in bad.content.decode()
    no_owner = zap_console.post("/clients/import/", {"file": SimpleUploadedFile("c.csv", b"name,plan\nX,starter\n")})
    assert no_owner.status_code == 400 and "owner_email" in no_owner.content.decode()
    assert not BulkImport.objects.exists()

    csv = (
        "\ufeffname,plan,owner_email,slug\n"
        "Açaí da Praia,starter,a@acai.example,acai\n"
        "Padaria de Novo,starter,b@x.example,padaria\n"  # slug taken: this row fails, the others go on
        "Chaveiro 24h,platinum,c@x.example,\n"  # unknown plan
        "Banca do Zé,professional,d@banca.example,\n"
    ).encode()
    response = zap_console.post("/clients/import/", {"file": SimpleUploadedFile("clientes.csv", csv)})
    assert response.status_code == 302
    job = BulkImport.objects.get()
    page = zap_console.get(response["Location"]).content.decode()
    assert "Na fila" in page and 'hx-trigger="every 1s"' in page and "htmx-2.min.js" in page
    bulk_import_run(job_id=job.pk)  # what the Celery task runs
    progress = zap_console.get(f"/clients/import/{job.pk}/progress/").content.decode()
    assert "Concluída: 2 criados, 2 com erro." in progress and "hx-trigger" not in progress
    assert "already exists" in progress and "platinum" in progress
    assert set(Organization.objects.filter(parent=zap).values_list("slug", flat=True)) == {"padaria", "acai", "banca-do-ze"}
    # another partner cannot look at this import
    nuvem_console = logged_in("nuvem.localhost", owner_email("nuvem"))
    assert nuvem_console.get(f"/clients/import/{job.pk}/").status_code == 404


def _enter_as_support(console, slug="padaria"):
    response = console.post(f"/clients/{slug}/support/")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert url.netloc == f"{slug}.localhost" and url.path == "/support/enter/"
    return f"{url.path}?{url.query}"


def test_support_access_is_single_use_short_lived_and_recorded_for_the_client(two_partners, zap_console):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    link = _enter_as_support(zap_console)
    browser = host_client("padaria.localhost")
    entered = browser.get(link)
    assert entered.status_code == 302 and entered["Location"] == "/"
    home = browser.get("/")
    assert home.status_code == 200 and "como suporte do parceiro" in home.content.decode()
    assert browser.get("/settings/brand/").status_code == 200  # support acts as an admin
    # a short, absolute session
    with schema_context(padaria.schema_name):  # sessions live in the tenant's schema
        session = Session.objects.get(session_key=browser.cookies["sessionid"].value)
    assert session.expire_date <= timezone.now() + timedelta(seconds=SUPPORT_SESSION_SECONDS + 5)
    # the entry is in the client's audit log, readable by its admins
    with schema_context(padaria.schema_name):
        entry = AuditEntry.objects.get(action="support.enter")
        assert entry.detail["issued_by"] == owner_email("zap") and entry.detail["partner"] == "zap"
        support = User.objects.get(role="support")
        assert not support.has_usable_password()
    owner = logged_in("padaria.localhost", owner_email("padaria"))
    audit = owner.get("/settings/audit/").content.decode()
    assert "Acesso de suporte do parceiro" in audit and owner_email("zap") in audit
    assert support.email not in owner.get("/settings/agents/").content.decode()  # not a person of the account
    # single use
    assert host_client("padaria.localhost").get(link).status_code == 403
    # the session ends when its time is up
    with schema_context(padaria.schema_name):
        Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert browser.get("/").status_code == 302


def test_support_links_expire_and_work_only_on_their_clients_host(two_partners, zap_console):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    link = _enter_as_support(zap_console)
    # on another tenant's host the token is worthless (and stays unused)
    assert host_client("oficina.localhost").get(link).status_code == 403
    assert host_client("zap.localhost").get(link).status_code == 403
    SupportGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = host_client("padaria.localhost").get(link)
    assert refused.status_code == 403 and "expirou" in refused.content.decode()
    tampered = re.sub(r"t=(.)", lambda m: "t=" + ("A" if m.group(1) != "A" else "B"), link)
    assert host_client("padaria.localhost").get(tampered).status_code == 403
    with schema_context(padaria.schema_name):
        assert not AuditEntry.objects.filter(action="support.enter").exists()
    with schema_context(zap.schema_name):
        assert AuditEntry.objects.filter(action="support.issue", target="padaria").count() == 1


def test_no_support_access_into_a_suspended_client(two_partners, zap_console, commit):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    with commit():
        zap_console.post("/clients/padaria/status/", {"action": "suspend"})
    response = zap_console.post("/clients/padaria/support/", follow=True)
    assert "suspensa" in response.content.decode()
    assert not SupportGrant.objects.exists()


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    from celery.contrib.testing.worker import start_worker

    from orbit.celery import app

    with django_db_blocker.unblock():
        app.control.purge()
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING") as w:
            yield w


def test_csv_import_runs_in_a_real_worker_and_the_page_polls_its_progress(live_db, worker):
    import time

    partner = make_organization("revenda", kind="partner")
    console = logged_in("revenda.localhost", owner_email("revenda"))
    csv = b"name,plan,owner_email\nCliente Um,starter,um@c.example\nCliente Dois,starter,dois@c.example\n"
    response = console.post("/clients/import/", {"file": SimpleUploadedFile("c.csv", csv)})
    job_id = int(response["Location"].rstrip("/").rsplit("/", 1)[-1])
    deadline = time.monotonic() + 60
    while "Concluída" not in (fragment := console.get(f"/clients/import/{job_id}/progress/").content.decode()):
        assert time.monotonic() < deadline, fragment
        time.sleep(0.5)
    assert "2 criados, 0 com erro" in fragment
    assert set(Organization.objects.filter(parent=partner).values_list("slug", flat=True)) == {"cliente-um", "cliente-dois"}
