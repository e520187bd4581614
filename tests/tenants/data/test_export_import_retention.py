"""Moving a tenant (export → import, file or s3:// URL), refusals, and backup retention."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError
from django.db import connection
from django_tenants.utils import schema_context

from chat.models import Attachment, Message
from tenants.data import backup
from tenants.data.services import backup_create, backup_list
from tenants.models import Organization
from tests.factories import make_organization
from tests.tenants.data.populate import file_bytes, populate
from tests.tenants.test_tenant_command import tenant_command


@pytest.mark.parametrize("where", ["file", "s3"])
def test_export_then_import_elsewhere(live_db, media, moto_server, settings, tmp_path, where):
    org = make_organization("origem")
    made = populate(org)
    originals = sorted(file_bytes(made["files"]).values())
    if where == "s3":
        import boto3

        boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="test",
                     aws_secret_access_key="test").create_bucket(Bucket="mudancas")
        settings.ORBIT_S3_ENDPOINT_URL, settings.ORBIT_S3_ACCESS_KEY_ID, settings.ORBIT_S3_SECRET_ACCESS_KEY = (
            moto_server, "test", "test")
        target = "s3://mudancas/orbit/origem.orbk"
    else:
        target = str(tmp_path / "origem.orbk")
    out, _ = tenant_command("export", "origem", "--to", target)
    assert "files=2" in out
    # the other installation: the organization is gone here (its files too)
    tenant_command("delete", "origem", "--yes")
    assert not default_storage.exists(made["files"][0])

    out, _ = tenant_command("import", target, "--slug", "chegada")

    assert "imported chegada" in out and "files=2" in out
    org = Organization.objects.get(slug="chegada")
    with schema_context(org.schema_name):
        assert Message.objects.count() == 15
        names = list(Attachment.objects.values_list("file", flat=True))
    assert all(n.startswith("tenants/t_chegada/") for n in names)
    assert sorted(file_bytes(names).values()) == originals


def test_import_refuses_an_incompatible_migration_state(live_db, media, tmp_path):
    org = make_organization("origem")
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{org.schema_name}".django_migrations (app, name, applied) '
                       "VALUES ('chat', '9999_from_the_future', now())")
    target = str(tmp_path / "x.orbk")
    tenant_command("export", "origem", "--to", target)
    with pytest.raises(CommandError, match="incompatible migration state.*chat.9999_from_the_future"):
        tenant_command("import", target, "--slug", "chegada")
    assert not Organization.objects.filter(slug="chegada").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = 't_chegada'")
        assert cursor.fetchone() is None


def test_import_refuses_garbage_and_backups(live_db, media, tmp_path):
    junk = tmp_path / "junk.orbk"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(CommandError, match="not an Orbit backup"):
        tenant_command("import", str(junk))
    with pytest.raises(CommandError, match="no such file"):
        tenant_command("import", str(tmp_path / "missing.orbk"))


def _entry(kind, moment, n):
    return backup.BackupEntry(id=f"{moment:%Y%m%dT%H%M%SZ}-{n:06x}", kind=kind, created_at=moment.isoformat(), size=1,
                              sha256="", schema="t_origem", slug="origem", tables=0, rows=0, files=0)


def test_scheduled_kind_follows_the_calendar():
    utc = dt.UTC
    day = dt.datetime(2026, 12, 2, 12, tzinfo=utc)  # a Wednesday
    assert backup.scheduled_kind(existing=[], now=day) == "monthly"
    monthly = _entry("monthly", dt.datetime(2026, 12, 1, 12, tzinfo=utc), 1)
    assert backup.scheduled_kind(existing=[monthly], now=day) == "daily"  # same ISO week as the monthly
    assert backup.scheduled_kind(existing=[monthly], now=dt.datetime(2026, 12, 8, 12, tzinfo=utc)) == "weekly"
    assert backup.scheduled_kind(existing=[monthly, _entry("daily", day, 2)], now=day) is None


def test_retention_keeps_the_newest_of_each_kind_and_every_manual_one(live_db, media, settings):
    settings.ORBIT_BACKUP_RETENTION = "daily=2,weekly=1,monthly=1"
    org = make_organization("origem")
    made = [backup_create(organization=org, kind=k) for k in ("daily", "daily", "daily", "weekly", "weekly",
                                                                "monthly", "manual")]
    removed = backup.retention_apply(organization=org)
    assert sorted(e.id for e in removed) == sorted([made[0].id, made[3].id])
    left = {e.id for e in backup_list(organization=org)}
    assert left == {made[i].id for i in (1, 2, 4, 5, 6)}
    assert not default_storage.exists(made[0].name)


def test_retention_per_plan(settings):
    settings.ORBIT_BACKUP_RETENTION = "daily=7,weekly=4,monthly=12"
    settings.ORBIT_BACKUP_RETENTION_PLANS = "starter:daily=3,monthly=2"

    class Org:
        plan = type("P", (), {"code": "starter"})

    assert backup.retention_for(Org) == {"daily": 3, "weekly": 4, "monthly": 2}


def test_beat_task_backs_up_each_tenant_once_a_day(live_db, media, tenant):
    from tenants.tasks import backups_daily

    first = backups_daily()
    assert first["failed"] == 0 and first["made"] >= 1
    assert backups_daily()["made"] == 0  # the same day: nothing more
    assert [e.kind for e in backup_list(organization=tenant)] == ["monthly"]
