"""The archive of one tenant: a tar of manifest.json, schema.dump (pg_dump, custom format),
public/<table>.csv (its public-schema rows) and, in an export, files/<stored name>; the
whole encrypted (tenants.data.crypto). Backups leave the files' bytes out (the manifest
lists them: name, size, checksum); exports carry them, to move to another installation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.files.storage import default_storage
from django.utils import timezone

from orbit.lib import storage as stored
from tenants.data import crypto, pgtools, snapshot
from tenants.data.errors import DataError

FORMAT = 1
DUMP = "schema.dump"
MANIFEST = "manifest.json"


def new_id(moment=None) -> str:
    moment = moment or timezone.now()
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def public_tables() -> list[tuple[str, str]]:
    """(table, column) of every public-schema table with a row per organization."""
    tenant_model = apps.get_model(settings.TENANT_MODEL)
    shared = {a.rsplit(".", 1)[-1] for a in settings.SHARED_APPS}
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in shared or model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is tenant_model and field.name != "parent":
                found.append((model._meta.db_table, field.column))
    return [(tenant_model._meta.db_table, tenant_model._meta.pk.column)] + sorted(set(found))


def public_rows(organization) -> dict:
    """The rows a restore into a new organization re-creates (the rest stays in public/*.csv)."""
    brand_model = apps.get_model("branding", "Brand")
    return {
        "organization": {
            "slug": organization.slug, "name": organization.name, "kind": organization.kind,
            "status": organization.status, "plan": organization.plan.code, "schema": organization.schema_name,
            "parent": organization.parent.slug if organization.parent_id else None,
            "created_at": organization.created_at.isoformat(),
        },
        "domains": [{"domain": d.domain, "is_primary": d.is_primary, "is_verified": d.is_verified}
                    for d in organization.domains.order_by("id")],
        "brand": json.loads(serializers.serialize("json", brand_model.objects.filter(organization=organization))),
    }


def file_manifest(schema: str) -> list[dict]:
    """Every stored file of the tenant: tenants/<schema>/uploads/… and whitelabel/<schema>/…"""
    entries = []
    for prefix in (stored.tenant_path(schema, "uploads") + "/", stored.whitelabel_prefix(schema)):
        for name, size, etag in stored.walk(prefix):
            entries.append({"name": name, "size": size, "checksum": stored.checksum(name, etag=etag)})
    return entries


@dataclass
class Built:
    path: str  # the encrypted archive on local disk
    sha256: str
    size: int
    manifest: dict


def build(*, organization, kind: str, include_files: bool, workdir: str, note: str = "") -> Built:
    """Dump the tenant's schema and public rows in one snapshot, fingerprint them, list (or
    pack) its files, and encrypt it all into one file under `workdir`."""
    schema = organization.schema_name
    archive_id = new_id()
    plain = Path(workdir) / "plain"
    plain.mkdir()
    dump_path = plain / DUMP
    with snapshot.snapshot_connection() as conn:
        snap = snapshot.export_snapshot(conn)
        dump = subprocess.Popen(
            [pgtools.tool("pg_dump"), "--format=custom", f"--schema={schema}", f"--snapshot={snap}",
             "--no-owner", "--no-privileges", f"--file={dump_path}"],
            env=pgtools.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        errors = []
        reader = threading.Thread(target=lambda: errors.append(dump.stderr.read()))
        reader.start()
        # while pg_dump runs, on the same snapshot: the fingerprint and the public rows
        with conn.cursor() as cursor:
            fingerprint = snapshot.fingerprint(cursor, schema)
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
            public_dir = plain / "public"
            public_dir.mkdir()
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            existing = {row[0] for row in cursor.fetchall()}
            for table, column in public_tables():
                if table not in existing:  # a model whose migration this database has not run yet
                    continue
                with open(public_dir / f"{table}.csv", "wb") as out, cursor.copy(
                    f'COPY (SELECT * FROM public."{table}" WHERE "{column}" = {int(organization.pk)}) '
                    "TO STDOUT WITH (FORMAT csv, HEADER)"
                ) as copy:
                    for block in copy:
                        out.write(block)
        dump.wait()
        reader.join()
        if dump.returncode != 0:
            message = (errors[0] if errors else b"").decode(errors="replace").strip().splitlines()[-3:]
            raise DataError("pg_dump failed: " + " | ".join(message))
    files = file_manifest(schema)
    manifest = {
        "format": FORMAT,
        "kind": kind,
        "id": archive_id,
        "note": note,
        "created_at": timezone.now().isoformat(),
        "schema": schema,
        "organization": public_rows(organization),
        "public_tables": [t for t, _ in public_tables()],
        "fingerprint": fingerprint,
        "dump": {"name": DUMP, "size": dump_path.stat().st_size, "sha256": crypto.sha256_file(str(dump_path))},
        "files": files,
        "files_included": include_files,
        "postgres": {"server": server_version, "pg_dump": pgtools.server_major()},
    }
    (plain / MANIFEST).write_text(json.dumps(manifest, default=str))
    tar_path = Path(workdir) / "archive.tar"
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(plain / MANIFEST, arcname=MANIFEST)
        tar.add(dump_path, arcname=DUMP)
        tar.add(public_dir, arcname="public")
        if include_files:
            for entry in files:
                with default_storage.open(entry["name"], "rb") as handle:
                    info = tarfile.TarInfo("files/" + entry["name"])
                    info.size = entry["size"]
                    tar.addfile(info, handle)
    shutil.rmtree(plain)
    encrypted = Path(workdir) / f"{archive_id}.orbk"
    digest = crypto.encrypt_file(str(tar_path), str(encrypted))
    tar_path.unlink()
    return Built(path=str(encrypted), sha256=digest, size=encrypted.stat().st_size, manifest=manifest)


@dataclass
class Opened:
    folder: Path
    manifest: dict

    @property
    def dump(self) -> Path:
        return self.folder / DUMP

    def file_path(self, name: str) -> Path:
        return self.folder / "files" / name


def open_archive(encrypted: str, *, workdir: str, expected_sha256: str | None = None,
                 expected_size: int | None = None, what: str = "the backup") -> Opened:
    """Check, decrypt and unpack an archive; refuse anything corrupted or truncated."""
    size = os.path.getsize(encrypted)
    if expected_size is not None and size != expected_size:
        raise DataError(f"{what} is truncated or corrupted: {size} bytes, {expected_size} when it was made")
    if expected_sha256 is not None and crypto.sha256_file(encrypted) != expected_sha256:
        raise DataError(f"{what} is corrupted: its SHA-256 is not the one recorded when it was made")
    tar_path = os.path.join(workdir, "archive.tar")
    crypto.decrypt_file(encrypted, tar_path, what=what)
    folder = Path(workdir) / "open"
    folder.mkdir()
    try:
        with tarfile.open(tar_path, "r") as tar:
            tar.extractall(folder, filter="data")  # no absolute names, links or ".." escapes
    except (tarfile.TarError, OSError) as exc:
        raise DataError(f"{what} cannot be unpacked: {exc}") from exc
    os.unlink(tar_path)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{what} has no readable manifest") from exc
    if manifest.get("format") != FORMAT:
        raise DataError(f"{what} is in format {manifest.get('format')!r}; this Orbit reads format {FORMAT}")
    dump = folder / DUMP
    if not dump.exists() or crypto.sha256_file(str(dump)) != manifest["dump"]["sha256"]:
        raise DataError(f"{what} is corrupted: its schema dump does not match its manifest")
    return Opened(folder=folder, manifest=manifest)


def workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="orbit-data-")
