"""Backups of one tenant: make, list, find, fetch, and keep only what retention says.

Stored under tenants/<schema>/backups/<kind>/<id>.orbk (encrypted archive) with
<id>.json beside it (its index entry: id, time, kind, size, SHA-256, counts), so a list
reads small JSON files and never decrypts anything. Scheduled backups get their kind from
the calendar (grandfather-father-son): the first of a month is monthly, the first of an
ISO week weekly, the rest daily; each kind keeps its newest N (ORBIT_BACKUP_RETENTION,
per plan ORBIT_BACKUP_RETENTION_PLANS). `manual` backups (the command, the safety backup
before a restore) are kept until deleted."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from orbit.lib import storage as stored
from tenants.data import archive
from tenants.data.errors import DataError
from tenants.models import BackupRecord

logger = logging.getLogger(__name__)

SCHEDULED_KINDS = ("daily", "weekly", "monthly")
KINDS = (*SCHEDULED_KINDS, "manual")
SUFFIX = ".orbk"


@dataclass
class BackupEntry:
    id: str
    kind: str
    created_at: str
    size: int
    sha256: str
    schema: str
    slug: str
    tables: int
    rows: int
    files: int
    note: str = ""

    @property
    def name(self) -> str:
        return stored.tenant_path(self.schema, "backups", self.kind, self.id + SUFFIX)

    @property
    def moment(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at)

    def as_dict(self) -> dict:
        return asdict(self)


def _index_name(schema: str, kind: str, backup_id: str) -> str:
    return stored.tenant_path(schema, "backups", kind, backup_id + ".json")


def backup_create(*, organization, kind: str = "manual", note: str = "") -> BackupEntry:
    """Back up one tenant now: dump, manifest, encrypt, store. Returns its index entry."""
    if kind not in KINDS:
        raise DataError(f"unknown backup kind {kind!r} (kinds: {', '.join(KINDS)})")
    with archive.workdir() as work:
        built = archive.build(organization=organization, kind=kind, include_files=False, workdir=work, note=note)
        tables = built.manifest["fingerprint"]["tables"]
        entry = BackupEntry(
            id=built.manifest["id"], kind=kind, created_at=built.manifest["created_at"], size=built.size,
            sha256=built.sha256, schema=organization.schema_name, slug=organization.slug, tables=len(tables),
            rows=sum(t["rows"] for t in tables.values()), files=len(built.manifest["files"]), note=note,
        )
        with open(built.path, "rb") as handle:
            saved = default_storage.save(entry.name, File(handle))
    if saved != entry.name:  # never: ids are unique; a renamed save would orphan the index
        default_storage.delete(saved)
        raise DataError(f"could not store the backup as {entry.name}")
    default_storage.save(_index_name(entry.schema, kind, entry.id), ContentFile(json.dumps(entry.as_dict()).encode()))
    BackupRecord.objects.create(organization_id=organization.pk, schema_name=entry.schema, backup_id=entry.id,
                                kind=kind, size=entry.size)
    logger.info("backup %s of %s: %s bytes", entry.id, organization.slug, entry.size)
    return entry


def backup_list(*, organization) -> list[BackupEntry]:
    """Every backup of the tenant, newest first."""
    prefix = stored.tenant_path(organization.schema_name, "backups") + "/"
    entries = []
    for name, _size, _etag in stored.walk(prefix):
        if not name.endswith(".json"):
            continue
        try:
            with default_storage.open(name, "rb") as handle:
                entries.append(BackupEntry(**json.loads(handle.read())))
        except (OSError, ValueError, TypeError):
            logger.warning("unreadable backup index entry %s", name)
    return sorted(entries, key=lambda e: e.created_at, reverse=True)


def backup_get(*, organization, backup_id: str) -> BackupEntry:
    """One backup of this tenant. Looked up under the tenant's own prefix only: another
    tenant's backup id is "not found" here, whatever it is."""
    for entry in backup_list(organization=organization):
        if entry.id == backup_id:
            if not default_storage.exists(entry.name):
                raise DataError(f"backup {backup_id} of {organization.slug} has an index entry but no archive")
            return entry
    raise DataError(f"{organization.slug} has no backup {backup_id!r} (see `tenant backups {organization.slug}`)")


def backup_fetch(entry: BackupEntry, *, workdir: str) -> str:
    """Copy a stored backup to local disk (it is checked when opened)."""
    path = os.path.join(workdir, entry.id + SUFFIX)
    with default_storage.open(entry.name, "rb") as src, open(path, "wb") as dst:
        for block in iter(lambda: src.read(1024 * 1024), b""):
            dst.write(block)
    return path


def backup_open(entry: BackupEntry, *, workdir: str) -> archive.Opened:
    path = backup_fetch(entry, workdir=workdir)
    return archive.open_archive(path, workdir=workdir, expected_sha256=entry.sha256, expected_size=entry.size,
                                what=f"backup {entry.id}")


def backup_delete(entry: BackupEntry) -> None:
    default_storage.delete(entry.name)
    default_storage.delete(_index_name(entry.schema, entry.kind, entry.id))
    BackupRecord.objects.filter(backup_id=entry.id).delete()


# --- schedule and retention ------------------------------------------------------------


def _parse_counts(text: str) -> dict[str, int]:
    counts = {}
    for part in (text or "").split(","):
        key, _, value = part.partition("=")
        if key.strip() in SCHEDULED_KINDS and value.strip().isdigit():
            counts[key.strip()] = int(value)
    return counts


def retention_for(organization) -> dict[str, int]:
    """How many backups of each scheduled kind the tenant keeps (its plan may differ)."""
    counts = {"daily": 7, "weekly": 4, "monthly": 12} | _parse_counts(settings.ORBIT_BACKUP_RETENTION)
    for plan_part in (settings.ORBIT_BACKUP_RETENTION_PLANS or "").split(";"):
        code, _, rest = plan_part.partition(":")
        if code.strip() and code.strip() == getattr(organization.plan, "code", None):
            counts |= _parse_counts(rest)
    return counts


def scheduled_kind(*, existing: list[BackupEntry], now: dt.datetime) -> str | None:
    """The kind today's scheduled backup gets, or None if today already has one."""
    local = timezone.localtime(now)
    scheduled = [e for e in existing if e.kind in SCHEDULED_KINDS]
    days = {timezone.localtime(e.moment).date() for e in scheduled}
    if local.date() in days:
        return None
    if not any(timezone.localtime(e.moment).strftime("%Y-%m") == local.strftime("%Y-%m")
               for e in scheduled if e.kind == "monthly"):
        return "monthly"
    week = local.isocalendar()[:2]
    if not any(timezone.localtime(e.moment).isocalendar()[:2] == week for e in scheduled if e.kind in ("weekly", "monthly")):
        return "weekly"
    return "daily"


def retention_apply(*, organization, entries: list[BackupEntry] | None = None) -> list[BackupEntry]:
    """Delete scheduled backups beyond the newest N of each kind; returns what went."""
    entries = entries if entries is not None else backup_list(organization=organization)
    keep = retention_for(organization)
    removed = []
    for kind in SCHEDULED_KINDS:
        of_kind = sorted((e for e in entries if e.kind == kind), key=lambda e: e.created_at, reverse=True)
        for entry in of_kind[keep.get(kind, 0):]:
            backup_delete(entry)
            removed.append(entry)
    return removed


def backup_scheduled(*, organization, now: dt.datetime | None = None) -> BackupEntry | None:
    """Today's scheduled backup of the tenant (none if it has one), then retention."""
    existing = backup_list(organization=organization)
    kind = scheduled_kind(existing=existing, now=now or timezone.now())
    entry = backup_create(organization=organization, kind=kind) if kind else None
    retention_apply(organization=organization, entries=existing + ([entry] if entry else []))
    return entry
