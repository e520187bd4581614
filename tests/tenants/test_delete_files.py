"""`tenant delete` removes the tenant's stored files too (issue 12, item 10): everything
under tenants/<schema>/ (uploads, backups, exports) and its brand assets, once the
deletion commits; another tenant's files stay."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from branding.services import brand_update
from chat.services.attachments import storage_name
from orbit.lib.storage import delete_prefix, tenant_prefix
from tenants.models import Organization
from tests.branding.test_safety import PNG
from tests.tenants.test_tenant_command import tenant_command


@pytest.fixture
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path


def _files(root, folder: str) -> list[str]:
    base = root / folder
    return sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file()) if base.exists() else []


def test_tenant_delete_removes_the_tenants_files_and_keeps_everyone_elses(live_db, media, tenant):
    tenant_command("create", "--name", "Passageira", "--plan", "starter")
    org = Organization.objects.get(slug="passageira")
    stored = [
        default_storage.save(storage_name(schema=org.schema_name, kind=kind, extension=ext), ContentFile(b"x" * 10))
        for kind, ext in (("image", ".png"), ("document", ".pdf"), ("audio", ".ogg"))
    ]
    default_storage.save("tenants/t_passageira/backups/daily/2026-12-01.dump", ContentFile(b"dump"))
    default_storage.save("tenants/t_passageira/exports/conversas.csv", ContentFile(b"id\n"))
    brand_update(organization=org, logo=PNG)
    neighbour = default_storage.save(storage_name(schema=tenant.schema_name, kind="image", extension=".png"), ContentFile(b"y"))
    assert len(_files(media, "tenants/t_passageira")) == 5 and all(name.startswith("tenants/t_passageira/uploads/") for name in stored)
    assert len(_files(media, "whitelabel/t_passageira")) == 1

    out, _ = tenant_command("delete", "passageira", "--yes")

    assert out.strip() == "deleted passageira (schema t_passageira dropped)"
    assert _files(media, "tenants/t_passageira") == [] and not (media / "tenants" / "t_passageira").exists()
    assert _files(media, "whitelabel/t_passageira") == []
    assert _files(media, f"tenants/{tenant.schema_name}") == [neighbour]


def test_a_refused_delete_removes_no_file(live_db, media):
    tenant_command("create", "--name", "Revenda", "--slug", "revenda", "--kind", "partner", "--plan", "white-label")
    tenant_command("create", "--name", "Cliente", "--slug", "cliente", "--parent", "revenda", "--plan", "starter")
    name = default_storage.save("tenants/t_revenda/uploads/images/2026/12/a.png", ContentFile(b"x"))

    from django.core.management import CommandError

    with pytest.raises(CommandError):
        tenant_command("delete", "revenda", "--yes")

    assert _files(media, "tenants/t_revenda") == [name]


@pytest.mark.parametrize("prefix", ["", "/", "tenants", "/etc/", "tenants/../", "tenants/t_x/../../"])
def test_delete_prefix_refuses_anything_but_a_relative_folder(prefix):
    with pytest.raises(ValueError):
        delete_prefix(prefix)


@pytest.mark.parametrize("schema", ["", "..", "t_x/..", "T X", "public/"])
def test_tenant_prefix_takes_schema_names_only(schema):
    with pytest.raises(ValueError):
        tenant_prefix(schema)
