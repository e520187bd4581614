"""The entry points of tenant data: what the `tenant` command, beat and the restore drill
call. Each takes an Organization (or a slug for what creates one) and raises DataError
with a message for a person."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from django.core.files.storage import default_storage

from orbit.lib import storage as stored
from tenants.data import archive, backup, restore
from tenants.data.errors import DataError
from tenants.models import Organization

backup_create = backup.backup_create
backup_list = backup.backup_list
backup_scheduled = backup.backup_scheduled
retention_apply = backup.retention_apply


def tenant_restore(*, organization: Organization, backup_id: str, into: str | None = None,
                   actor_label: str = "") -> restore.Restored:
    """Restore one of the organization's own backups into itself (after a safety backup)
    or into a new organization `into`."""
    entry = backup.backup_get(organization=organization, backup_id=backup_id)
    with archive.workdir() as work:
        opened = backup.backup_open(entry, workdir=work)
        what = f"backup {entry.id}"
        if into:
            return restore.restore_into_new(opened, slug=into, what=what, actor_label=actor_label)
        restore.migrations_to_apply(opened.manifest, what=what)
        safety = backup.backup_create(organization=organization, kind="manual", note=f"before restoring {entry.id}")
        return restore.restore_replace(organization, opened, safety_backup=safety.id, what=what,
                                       actor_label=actor_label)


# --- export / import (moving between installations) ----------------------------------------


def _s3_target(url: str):
    parsed = urlparse(url)
    key = parsed.path.lstrip("/")
    if not parsed.netloc or not key or key.endswith("/"):
        raise DataError(f"{url!r}: an S3 URL is s3://BUCKET/KEY")
    return stored.s3_storage(parsed.netloc), key


def tenant_export(*, organization: Organization, to: str) -> dict:
    """The tenant (schema, public rows, every file's bytes), encrypted, to a local file or
    an s3://bucket/key URL; also kept under tenants/<schema>/exports/ when `to` is empty."""
    with archive.workdir() as work:
        built = archive.build(organization=organization, kind="export", include_files=True, workdir=work)
        if to.startswith("s3://"):
            target_storage, key = _s3_target(to)
            with open(built.path, "rb") as handle:
                target_storage.save(key, handle)
            where = to
        elif to:
            where = os.path.abspath(to)
            os.makedirs(os.path.dirname(where) or ".", exist_ok=True)
            shutil.copyfile(built.path, where)
        else:
            where = stored.tenant_path(organization.schema_name, "exports", f"{built.manifest['id']}.orbk")
            with open(built.path, "rb") as handle:
                where = default_storage.save(where, handle)
        return {"id": built.manifest["id"], "to": where, "size": built.size, "sha256": built.sha256,
                "files": len(built.manifest["files"])}


def _fetch(source: str, work: str) -> str:
    path = os.path.join(work, "import.orbk")
    if source.startswith("s3://"):
        source_storage, key = _s3_target(source)
        if not source_storage.exists(key):
            raise DataError(f"{source}: no such object")
        with source_storage.open(key, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        return path
    if not os.path.isfile(source):
        raise DataError(f"{source}: no such file")
    return source


def tenant_import(*, source: str, slug: str | None = None, actor_label: str = "") -> restore.Restored:
    """A new organization from an export (another installation's or this one's)."""
    with archive.workdir() as work:
        opened = archive.open_archive(_fetch(source, work), workdir=work, what=f"the export {source}")
        if not opened.manifest.get("files_included"):
            raise DataError(f"{source} is a backup, not an export: restore it with `tenant restore`")
        slug = slug or opened.manifest["organization"]["organization"]["slug"]
        return restore.restore_into_new(opened, slug=slug, keep_parent=False, what=f"the export {source}",
                                        actor_label=actor_label)


# --- restore drill -----------------------------------------------------------------------


@dataclass
class Drill:
    backup_id: str
    scratch_schema: str
    tables: int
    rows: int
    seconds: float
    files_checked: int
    files_missing: list[str]


def restore_drill(*, organization: Organization, backup_id: str | None = None) -> Drill:
    """Restore the latest (or the given) backup into a scratch schema, check every table's
    row count and checksum, the catalogue and the files' checksums, time it (RTO), then
    drop the scratch schema. Touches nothing of the tenant."""
    import uuid

    from django.db import connection

    started = time.monotonic()
    entries = backup.backup_list(organization=organization)
    if not entries:
        raise DataError(f"{organization.slug} has no backup to drill with")
    entry = next((e for e in entries if e.id == backup_id), None) if backup_id else entries[0]
    if entry is None:
        raise DataError(f"{organization.slug} has no backup {backup_id!r}")
    scratch = f"drill_{uuid.uuid4().hex[:10]}"
    with archive.workdir() as work:
        opened = backup.backup_open(entry, workdir=work)
        connection.set_schema_to_public()
        restore.load_schema(str(opened.dump), old=opened.manifest["schema"], new=scratch)
        try:
            restore.verify_schema(scratch, opened.manifest)
        finally:
            restore._drop_quietly(scratch)
        missing = [f["name"] for f in opened.manifest["files"] if not stored.verify_checksum(f["name"], f["checksum"])]
    tables = opened.manifest["fingerprint"]["tables"]
    return Drill(backup_id=entry.id, scratch_schema=scratch, tables=len(tables),
                 rows=sum(t["rows"] for t in tables.values()), seconds=time.monotonic() - started,
                 files_checked=len(opened.manifest["files"]), files_missing=missing)
