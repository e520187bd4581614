"""`manage.py tenant …`: every subcommand's happy path, and bad input that exits non-zero
with one clear line and leaves no schema, organization or domain behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from orbit.embedded import read_env_file
from tenants.models import Domain, Organization
from tenants.services import organization_suspend

PROJECT_DIR = Path(settings.BASE_DIR)


def tenant_command(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("tenant", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def footprint() -> tuple[int, int, int]:
    """What a half-made organization would leave: schemas, organization rows, domains."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.schemata")
        (schemas,) = cursor.fetchone()
    return schemas, Organization.objects.count(), Domain.objects.count()


def assert_refused(args: tuple[str, ...], message: str) -> None:
    """The command fails with `message` and changes nothing."""
    before = footprint()
    with pytest.raises(CommandError) as refused:
        tenant_command(*args)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert footprint() == before


def run_manage_py(*args: str) -> subprocess.CompletedProcess:
    """`manage.py tenant …` in a separate process, on this test run's database and Redis."""
    base_url = os.environ.get("DATABASE_URL") or read_env_file()["DATABASE_URL"]
    test_database_url = urlsplit(base_url)._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orbit.settings_test",
        "ORBIT_TEST_SLOT": str(settings.TEST_SLOT),
        "DATABASE_URL": test_database_url,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "tenant", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "organizations.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- create -----------------------------------------------------------------------------


def test_create_provisions_schema_domain_and_owner(live_db):
    out, _ = tenant_command(
        "create",
        "--name",
        "Empresa X",
        "--plan",
        "professional",
        "--owner-email",
        "dona@empresa-x.example.com",
        "--owner-password",
        "senha-da-dona-1",
    )
    assert out.strip() == "created empresa-x  schema=t_empresa_x  host=empresa-x.localhost"
    organization = Organization.objects.get(slug="empresa-x")
    assert (organization.name, organization.kind, organization.plan.code) == ("Empresa X", "company", "professional")
    assert schema_exists("t_empresa_x")
    assert list(organization.domains.values_list("domain", "is_primary")) == [("empresa-x.localhost", True)]
    with schema_context(organization.schema_name):
        owner = get_user_model().objects.get()
        assert owner.email == "dona@empresa-x.example.com"
        assert owner.check_password("senha-da-dona-1")


def test_create_under_a_partner_with_a_custom_domain(live_db):
    tenant_command("create", "--name", "Revenda", "--slug", "revenda", "--kind", "partner", "--plan", "white-label")
    out, _ = tenant_command(
        "create",
        "--name",
        "Cliente da Revenda",
        "--slug",
        "cliente",
        "--plan",
        "starter",
        "--parent",
        "revenda",
        "--domain",
        "Chat.Cliente.com.br",
    )
    assert "created cliente" in out
    client = Organization.objects.get(slug="cliente")
    assert client.parent.slug == "revenda"
    assert Organization.objects.get(slug="revenda").kind == "partner"
    assert set(client.domains.values_list("domain", "is_primary")) == {
        ("cliente.localhost", True),
        ("chat.cliente.com.br", False),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--name", "Outra", "--slug", "alpha"), "an organization with slug 'alpha' already exists"),
        (("--name", "Outra", "--domain", "alpha.localhost"), "the domain 'alpha.localhost' is already in use"),
        (("--name", "Outra", "--plan", "platinum"), "unknown plan 'platinum'"),
        (("--name", "Outra", "--parent", "nobody"), "unknown parent organization 'nobody'"),
        (("--name", "Outra", "--parent", "alpha"), "only partners and holdings have sub-organizations"),
        (("--name", "Outra", "--slug", "9-Not_valid"), "invalid slug"),
        (("--name", "Outra", "--slug", "admin"), "reserved"),
        (("--name", "Outra", "--owner-email", "not-an-email"), "invalid owner e-mail"),
        (("--name", "x" * 201), "the name is too long"),
        (("--name", "Outra", "--kind", "cooperative"), "invalid choice: 'cooperative'"),
        (("--plan", "starter"), "the following arguments are required: --name"),
    ],
    ids=[
        "duplicate-slug",
        "duplicate-domain",
        "unknown-plan",
        "unknown-parent",
        "parent-not-a-partner",
        "invalid-slug",
        "reserved-slug",
        "invalid-owner-email",
        "name-too-long",
        "invalid-kind",
        "missing-name",
    ],
)
def test_create_refuses_bad_input_and_leaves_nothing(live_db, args, message):
    if "--plan" not in args:
        args = (*args, "--plan", "starter")
    assert_refused(("create", *args), message)


# --- list -------------------------------------------------------------------------------


def test_list_table_shows_every_column(live_db):
    tenant_command("create", "--name", "Revenda", "--slug", "revenda", "--kind", "partner", "--plan", "white-label")
    tenant_command("create", "--name", "Cliente", "--slug", "cliente", "--plan", "starter", "--parent", "revenda")
    out, _ = tenant_command("list")
    header, *lines = out.strip().splitlines()
    assert header.split() == ["slug", "name", "kind", "status", "plan", "parent", "primary", "domain"]
    assert [line.split()[0] for line in lines] == ["alpha", "beta", "cliente", "revenda"]
    cliente = next(line for line in lines if line.startswith("cliente"))
    assert cliente.split() == ["cliente", "Cliente", "company", "trial", "starter", "revenda", "cliente.localhost"]


def test_list_filters_by_status_and_parent(live_db, tenant):
    organization_suspend(organization=tenant)
    out, _ = tenant_command("list", "--filter", "suspended")
    assert [line.split()[0] for line in out.strip().splitlines()[1:]] == ["alpha"]

    tenant_command("create", "--name", "Holding", "--slug", "holding", "--kind", "holding", "--plan", "business")
    tenant_command("create", "--name", "Filial", "--slug", "filial", "--plan", "starter", "--parent", "holding")
    out, _ = tenant_command("list", "--parent", "holding", "--format", "json")
    assert [entry["slug"] for entry in json.loads(out)] == ["filial"]


def test_list_json_is_a_list_of_objects(db, tenant):
    out, _ = tenant_command("list", "--format", "json")
    entries = json.loads(out)
    assert [entry["slug"] for entry in entries] == ["alpha", "beta"]
    alpha = entries[0]
    assert alpha == {
        "slug": "alpha",
        "name": tenant.name,
        "kind": "company",
        "status": "active",
        "plan": "professional",
        "parent": None,
        "primary_domain": "alpha.localhost",
        "schema": "t_alpha",
        "created_at": tenant.created_at.isoformat(),
    }


def test_list_with_no_match_says_so(db):
    out, _ = tenant_command("list", "--filter", "cancelled")
    assert out.strip() == "no organizations match"
    out, _ = tenant_command("list", "--filter", "cancelled", "--format", "json")
    assert json.loads(out) == []


def test_list_refuses_an_unknown_parent(db):
    assert_refused(("list", "--parent", "nobody"), "no organization with slug 'nobody'")


def test_list_refuses_an_unknown_status(db):
    assert_refused(("list", "--filter", "deleted"), "invalid choice: 'deleted'")


# --- show -------------------------------------------------------------------------------


def test_show_details(live_db):
    tenant_command(
        "create",
        "--name",
        "Revenda",
        "--slug",
        "revenda",
        "--kind",
        "partner",
        "--plan",
        "white-label",
        "--domain",
        "atendimento.revenda.com.br",
    )
    tenant_command("create", "--name", "Cliente", "--slug", "cliente", "--plan", "starter", "--parent", "revenda")
    out, _ = tenant_command("show", "revenda")
    details = dict(line.split(":", 1) for line in out.strip().splitlines())
    details = {label: value.strip() for label, value in details.items()}
    assert details["slug"] == "revenda"
    assert details["kind"] == "partner"
    assert details["status"] == "trial"
    assert details["plan"] == "white-label"
    assert details["parent"] == "-"
    assert details["children"] == "1"
    assert details["schema"] == "t_revenda"
    assert details["domains"] == "revenda.localhost (primary), atendimento.revenda.com.br"
    assert details["created"].startswith(str(Organization.objects.get(slug="revenda").created_at.year))


def test_show_refuses_an_unknown_slug(db):
    assert_refused(("show", "nobody"), "no organization with slug 'nobody'")


# --- suspend / activate -----------------------------------------------------------------


def test_suspend_then_activate(live_db, tenant):
    out, _ = tenant_command("suspend", "alpha")
    assert out.strip() == "alpha: suspended"
    assert Organization.objects.get(slug="alpha").status == Organization.Status.SUSPENDED
    assert Organization.objects.get(slug="beta").status == Organization.Status.ACTIVE
    out, _ = tenant_command("activate", "alpha")
    assert out.strip() == "alpha: active"
    assert Organization.objects.get(slug="alpha").status == Organization.Status.ACTIVE


@pytest.mark.parametrize("subcommand", ["suspend", "activate"])
def test_status_changes_refuse_an_unknown_slug(db, subcommand):
    assert_refused((subcommand, "nobody"), "no organization with slug 'nobody'")


# --- delete -----------------------------------------------------------------------------


def test_delete_drops_schema_row_and_domains(live_db):
    tenant_command("create", "--name", "Passageira", "--plan", "starter", "--domain", "chat.passageira.com.br")
    schemas, organizations, domains = footprint()
    out, _ = tenant_command("delete", "passageira", "--yes")
    assert out.strip() == "deleted passageira (schema t_passageira dropped)"
    assert not Organization.objects.filter(slug="passageira").exists()
    assert not schema_exists("t_passageira")
    assert not Domain.objects.filter(domain__in=["passageira.localhost", "chat.passageira.com.br"]).exists()
    assert footprint() == (schemas - 1, organizations - 1, domains - 2)


def test_delete_without_yes_deletes_nothing(live_db):
    assert_refused(("delete", "alpha"), "add --yes to confirm")
    assert schema_exists("t_alpha")


def test_delete_refuses_an_unknown_slug(db):
    assert_refused(("delete", "nobody", "--yes"), "no organization with slug 'nobody'")


def test_delete_refuses_a_partner_with_sub_clients(live_db):
    tenant_command("create", "--name", "Revenda", "--slug", "revenda", "--kind", "partner", "--plan", "white-label")
    tenant_command("create", "--name", "Cliente", "--slug", "cliente", "--plan", "starter", "--parent", "revenda")
    assert_refused(("delete", "revenda", "--yes"), "'revenda' still has sub-organizations")


# --- create-bulk ------------------------------------------------------------------------


def test_create_bulk_creates_every_row_with_a_progress_bar(live_db, tmp_path):
    path = write_csv(
        tmp_path,
        "name,plan,slug,kind,parent,domain,owner_email\n"
        "Revenda Sul,white-label,revenda-sul,partner,,,\n"
        "Padaria Pão Quente,starter,,,revenda-sul,chat.padaria.com.br,dono@padaria.com.br\n"
        "Oficina,professional,,,,,\n",
    )
    out, err = tenant_command("create-bulk", path)
    assert out.strip().splitlines() == [
        "created revenda-sul  schema=t_revenda_sul  host=revenda-sul.localhost",
        "created padaria-pao-quente  schema=t_padaria_pao_quente  host=padaria-pao-quente.localhost",
        "created oficina  schema=t_oficina  host=oficina.localhost",
        "created 3, failed 0",
    ]
    assert "3/3" in err  # tqdm's bar
    padaria = Organization.objects.get(slug="padaria-pao-quente")
    assert padaria.parent.slug == "revenda-sul"
    assert padaria.domains.filter(domain="chat.padaria.com.br", is_primary=False).exists()
    with schema_context(padaria.schema_name):
        assert get_user_model().objects.get().email == "dono@padaria.com.br"


def test_create_bulk_reports_failed_rows_and_goes_on(live_db, tmp_path):
    path = write_csv(
        tmp_path,
        "name,plan,slug\n"
        "Primeira,starter,primeira\n"
        "Já Existe,starter,alpha\n"
        "Segunda,starter,segunda\n"
        "Plano Errado,platinum,plano-errado\n",
    )
    schemas, organizations, domains = footprint()
    with pytest.raises(CommandError) as failed:
        tenant_command("create-bulk", path)
    assert str(failed.value) == "created 2, failed 2 (rows 3, 5)"
    assert set(Organization.objects.values_list("slug", flat=True)) == {"alpha", "beta", "primeira", "segunda"}
    assert footprint() == (schemas + 2, organizations + 2, domains + 2)
    assert not schema_exists("t_plano_errado")


def test_create_bulk_names_the_row_and_reason_of_each_failure(live_db, tmp_path):
    path = write_csv(tmp_path, "name,plan,slug\nJá Existe,starter,alpha\nBoa,starter,boa\n")
    stdout, stderr = StringIO(), StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("tenant", "create-bulk", path, stdout=stdout, stderr=stderr)
    assert str(failed.value) == "created 1, failed 1 (row 2)"
    assert "row 2: an organization with slug 'alpha' already exists" in stderr.getvalue()
    assert "created boa" in stdout.getvalue()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("name,slug\nEmpresa,empresa\n", "missing column(s) plan"),
        ("name,plan,telefone\nEmpresa,starter,123\n", "unknown column(s) 'telefone'"),
        ("name,plan,plan\nEmpresa,starter,starter\n", "column(s) plan appear more than once"),
        ("name,plan\n", "no rows below the header"),
        ("name,plan,slug\nUma,starter,mesma\nOutra,starter,mesma\n", "rows 2 and 3 both have slug 'mesma'"),
        ("name,plan\nEmpresa Igual,starter\nEmpresa  igual,starter\n", "rows 2 and 3 both have slug 'empresa-igual'"),
        ("name,plan\nBoa,starter\n,starter\n", "row 3 has no name"),
        ("name,plan\nBoa,starter\nSem Plano\n", "row 3 has no plan"),
        ("name,plan\nBoa,starter,demais\n", "row 2 has 3 fields for 2 columns"),
    ],
    ids=[
        "empty",
        "missing-column",
        "unknown-column",
        "repeated-column",
        "no-rows",
        "duplicate-slug",
        "duplicate-derived-slug",
        "empty-name",
        "empty-plan",
        "too-many-fields",
    ],
)
def test_create_bulk_refuses_a_malformed_file_before_creating_anything(live_db, tmp_path, text, message):
    path = write_csv(tmp_path, text)
    assert_refused(("create-bulk", path), message)
    assert not Organization.objects.filter(slug="boa").exists()


def test_create_bulk_refuses_a_missing_file(db, tmp_path):
    assert_refused(("create-bulk", str(tmp_path / "nowhere.csv")), "no such file")


def test_create_bulk_reads_a_spreadsheet_export_with_byte_order_mark(live_db, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("name,plan\r\nDa Planilha,starter\r\n".encode("utf-8-sig"))
    out, _ = tenant_command("create-bulk", str(path))
    assert "created 1, failed 0" in out
    assert Organization.objects.filter(slug="da-planilha").exists()


# --- a real process: exit statuses --------------------------------------------------------


def test_manage_py_exit_statuses(live_db):
    before = footprint()
    refused = run_manage_py("create", "--name", "Processo", "--plan", "platinum")
    assert refused.returncode == 1
    (error_line,) = refused.stderr.strip().splitlines()
    assert error_line.startswith("CommandError: unknown plan 'platinum' (plans: ")
    assert footprint() == before

    not_confirmed = run_manage_py("delete", "alpha")
    assert not_confirmed.returncode == 1
    assert len(not_confirmed.stderr.strip().splitlines()) == 1
    assert "add --yes to confirm" in not_confirmed.stderr

    created = run_manage_py("create", "--name", "Processo", "--plan", "starter")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created processo  schema=t_processo  host=processo.localhost"
    assert Organization.objects.filter(slug="processo").exists()
    assert schema_exists("t_processo")

    listed = run_manage_py("list", "--format", "json")
    assert listed.returncode == 0
    assert [entry["slug"] for entry in json.loads(listed.stdout)] == ["alpha", "beta", "processo"]
