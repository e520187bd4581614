"""Backup → restore round trips on real PostgreSQL (pg_dump/pg_restore of the server's
version) and real storage: the local filesystem and S3 (a moto server on loopback)."""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError
from django.db import connection
from django_tenants.utils import schema_context

from chat.models import Attachment, Message
from tenants.data import snapshot
from tenants.data.services import backup_create, backup_list
from tenants.models import Domain, Organization
from tests.factories import make_organization
from tests.tenants.data.populate import file_bytes, populate
from tests.tenants.test_tenant_command import tenant_command


def _stats(schema: str) -> dict:
    with connection.cursor() as cursor:
        return snapshot.table_stats(cursor, schema)


def _message_checksum(schema: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT md5(string_agg(concat_ws(\'|\', id, conversation_id, seq, sender_type, body, client_id, created_at), '
            f'E\'\\n\' ORDER BY id)) FROM "{schema}".chat_message'
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("backend", ["media", "s3"])
def test_round_trip_into_a_new_slug(live_db, request, backend):
    request.getfixturevalue(backend)
    org = make_organization("origem")
    made = populate(org)
    before_stats, before_messages = _stats(org.schema_name), _message_checksum(org.schema_name)

    out, _ = tenant_command("backup", "origem")
    backup_id = out.split()[1]
    out, _ = tenant_command("restore", "origem", "--backup", backup_id, "--into", "copia")

    assert "into copia" in out and "files=2" in out and "MISSING" not in out
    copy = Organization.objects.get(slug="copia")
    assert copy.schema_name == "t_copia" and Domain.objects.get(tenant=copy).domain == "copia.localhost"
    after_stats = _stats("t_copia")
    # every table: same row count; every checksum equal but the one holding stored names
    audit = after_stats.pop("accounts_auditentry")["rows"] - before_stats.pop("accounts_auditentry")["rows"]
    assert audit == 1  # the restore is in the copy's audit log
    assert {t: s["rows"] for t, s in after_stats.items()} == {t: s["rows"] for t, s in before_stats.items()}
    assert {t for t in after_stats if after_stats[t]["checksum"] != before_stats[t]["checksum"]} <= {"chat_attachment", "accounts_auditentry"}
    assert _message_checksum("t_copia") == before_messages
    # files: copied under the new prefix, same bytes; the rows point at the copies
    with schema_context("t_copia"):
        names = sorted(Attachment.objects.values_list("file", flat=True))
        assert all(n.startswith("tenants/t_copia/uploads/images/") for n in names)
        assert Message.objects.count() == 15
    originals = file_bytes(made["files"])
    assert sorted(file_bytes(names).values()) == sorted(originals.values())
    # the original is untouched
    before_stats["accounts_auditentry"] = _stats(org.schema_name)["accounts_auditentry"]
    assert _stats(org.schema_name) == before_stats and sorted(file_bytes(made["files"])) == sorted(originals)


def test_restored_schema_points_only_at_itself(live_db, media):
    """Sequences, defaults, foreign keys and indexes of the copy live in the new schema."""
    org = make_organization("origem")
    populate(org)
    entry = backup_create(organization=org)
    tenant_command("restore", "origem", "--backup", entry.id, "--into", "copia")
    with connection.cursor() as cursor:
        assert snapshot.foreign_references(cursor, "t_copia") == []
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 't_copia' AND indexdef LIKE '%t_origem%'")
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT count(*) FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
            "JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = 't_copia' "
            "AND pg_get_constraintdef(c.oid) LIKE '%t_origem%'"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT pg_get_serial_sequence('t_copia.chat_message', 'id')")
        assert cursor.fetchone()[0].startswith("t_copia.")
    # new rows get fresh ids in the copy and leave the original's sequence alone
    with schema_context("t_origem"), connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM t_origem.chat_message_id_seq")
        original_seq = cursor.fetchone()[0]
    with schema_context("t_copia"):
        conversation = Message.objects.first().conversation
        new = Message.objects.create(conversation=conversation, seq=99, sender_type="agent", body="nova",
                                     client_id="00000000-0000-0000-0000-000000000001")
        assert new.pk > original_seq
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM t_origem.chat_message_id_seq")
        assert cursor.fetchone()[0] == original_seq


def test_restore_into_itself_replaces_its_data_after_a_safety_backup(live_db, media):
    org = make_organization("origem")
    populate(org)
    before = _stats(org.schema_name)
    entry = backup_create(organization=org)
    with schema_context(org.schema_name):
        Message.objects.filter(seq__gt=2).delete()
        Message.objects.filter(seq=1).update(body="alterada")

    out, _ = tenant_command("restore", "origem", "--backup", entry.id)

    assert "safety backup=" in out
    after = _stats(org.schema_name)
    assert {t: s for t, s in after.items() if t != "accounts_auditentry"} == {t: s for t, s in before.items() if t != "accounts_auditentry"}
    kinds = [(e.kind, e.note) for e in backup_list(organization=org)]
    assert ("manual", f"before restoring {entry.id}") in kinds
    with connection.cursor() as cursor:  # no scratch or retired schema left behind
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't_origem_%'")
        assert cursor.fetchall() == []


def test_backups_lists_id_time_size_kind_as_json(live_db, media):
    org = make_organization("origem")
    first = backup_create(organization=org)
    second = backup_create(organization=org, kind="daily")
    out, _ = tenant_command("backups", "origem", "--format", "json")
    listed = json.loads(out)
    assert [b["id"] for b in listed] == [second.id, first.id]
    assert {b["kind"] for b in listed} == {"manual", "daily"} and all(b["size"] > 0 and b["time"] for b in listed)
    # stored encrypted under the tenant's prefix, with a checksum
    assert default_storage.exists(f"tenants/t_origem/backups/daily/{second.id}.orbk")
    with default_storage.open(second.name, "rb") as handle:
        head = handle.read(64)
    assert head.startswith(b"ORBK1") and b"PGDMP" not in head


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_corrupted_or_truncated_backup_is_refused_and_nothing_changes(live_db, media, damage):
    org = make_organization("origem")
    populate(org)
    entry = backup_create(organization=org)
    path = media / entry.name
    data = path.read_bytes()
    path.write_bytes(data[:-100] if damage == "truncate" else data[:500] + bytes([data[500] ^ 1]) + data[501:])
    before = _stats(org.schema_name)

    with pytest.raises(CommandError, match="truncated|corrupted"):
        tenant_command("restore", "origem", "--backup", entry.id)
    with pytest.raises(CommandError, match="truncated|corrupted"):
        tenant_command("restore", "origem", "--backup", entry.id, "--into", "copia")

    assert _stats(org.schema_name) == before
    assert not Organization.objects.filter(slug="copia").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname IN ('t_copia') OR nspname LIKE 't_origem_%'")
        assert cursor.fetchone()[0] == 0


def test_a_tampered_archive_fails_authentication_even_with_a_matching_index(live_db, media):
    """The index's checksum is rewritten to match: AES-GCM still refuses the altered bytes."""
    org = make_organization("origem")
    entry = backup_create(organization=org)
    path = media / entry.name
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))
    from tenants.data import crypto

    index = media / entry.name.replace(".orbk", ".json")
    meta = json.loads(index.read_text())
    meta["sha256"] = crypto.sha256_file(str(path))
    index.write_text(json.dumps(meta))

    with pytest.raises(CommandError, match="fails its authentication check"):
        tenant_command("restore", "origem", "--backup", entry.id, "--into", "copia")


def test_another_tenants_backup_id_is_not_found(live_db, media):
    a = make_organization("tenant-a")
    make_organization("tenant-b")
    entry = backup_create(organization=a)
    with pytest.raises(CommandError, match="has no backup"):
        tenant_command("restore", "tenant-b", "--backup", entry.id)


def test_restore_into_an_existing_slug_is_refused(live_db, media):
    org = make_organization("origem")
    make_organization("ocupado")
    entry = backup_create(organization=org)
    with pytest.raises(CommandError, match="already exists"):
        tenant_command("restore", "origem", "--backup", entry.id, "--into", "ocupado")


def test_restore_drill_checks_counts_and_files(live_db, media):
    org = make_organization("origem")
    populate(org)
    backup_create(organization=org)
    out, _ = tenant_command("restore-drill", "origem")
    assert "rows equal" in out and "2/2 files match" in out and "RTO" in out
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'drill_%'")
        assert cursor.fetchone()[0] == 0


def test_the_operator_dashboard_tells_the_last_backup(live_db, media):
    from tenants.dashboard.health import health_check
    from tenants.models import BackupRecord

    org = make_organization("origem")
    assert health_check().last_backup is None
    entry = backup_create(organization=org)
    record = BackupRecord.objects.get(backup_id=entry.id)
    assert (record.schema_name, record.kind, record.size) == ("t_origem", "manual", entry.size)
    assert health_check().last_backup == record.created_at
    from tenants.data.backup import backup_delete

    backup_delete(entry)
    assert not BackupRecord.objects.exists()
