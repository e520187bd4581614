"""Restore a tenant from its archive: into itself (replacing it, after a safety backup) or
into a new organization under a new schema name.

The dump is loaded through `pg_restore -f -` (its SQL) with the schema's name rewritten in
the statements (never in the rows: COPY data passes untouched) into `psql --single-transaction`,
so a failed load leaves nothing. The loaded schema is then checked against the archive's
fingerprint (row count and checksum of every table, every sequence's value, constraints,
indexes and column defaults) and for any dependency on another schema; only then does it
replace the original (one transaction of two renames) or become a new organization. A
failure at any step drops what was loaded and leaves the original untouched."""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from accounts.services import audit_record
from billing import meters, metrics
from billing.limits import seat_count
from billing.models import Plan
from billing.services import subscription_start
from branding.models import Brand
from branding.services import brand_cache_invalidate
from orbit.lib import storage as stored
from tenants import provisioning
from tenants.data import pgtools, snapshot
from tenants.data.archive import Opened
from tenants.data.errors import DataError
from tenants.models import Domain, Organization
from tenants.routing import invalidate_hosts, invalidate_organization, tenant_host
from tenants.services.organizations import schema_name_for, validate_domain, validate_slug

logger = logging.getLogger(__name__)

BRAND_FIELDS = ("company_name", "logo", "logo_content_type", "favicon", "favicon_content_type", "primary_color",
                "secondary_color", "custom_css", "email_sender_name", "email_reply_to", "widget_greeting",
                "widget_offline_message", "show_powered_by")


@dataclass
class Restored:
    organization: Organization
    schema: str
    tables: int
    rows: int
    files_copied: int = 0
    files_missing: list[str] = field(default_factory=list)
    safety_backup: str | None = None
    migrated: list[str] = field(default_factory=list)


# --- migrations --------------------------------------------------------------------------


def migrations_to_apply(manifest: dict, *, what: str) -> list[str]:
    """Refuse an archive from a schema with migrations this code does not have (a newer
    Orbit, or another branch); return those it lacks (an older one: applied after)."""
    labels = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    have = {tuple(m) for m in manifest["fingerprint"]["migrations"] if m[0] in labels}
    expected = provisioning.expected_tenant_migrations()
    unknown = sorted(f"{a}.{n}" for a, n in have - expected)
    if unknown:
        raise DataError(
            f"{what} comes from an incompatible migration state: its schema has migrations this "
            f"installation does not know ({', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}). "
            "Upgrade this installation to the same Orbit version first; nothing was changed."
        )
    return sorted(f"{a}.{n}" for a, n in expected - have)


# --- loading a dump under another schema name ---------------------------------------------


def _rename_pattern(old: str):
    return re.compile(rf'(?<![A-Za-z0-9_$"]){re.escape(old)}(?![A-Za-z0-9_$])|"{re.escape(old)}"')


def load_schema(dump_path: str, *, old: str, new: str) -> None:
    """Load a pg_dump of schema `old` as schema `new` (which must not exist), all or nothing."""
    if schema_exists(new):
        raise DataError(f"the schema {new!r} already exists")
    pattern = _rename_pattern(old)
    replace_with = new
    with tempfile.TemporaryFile() as restore_err, tempfile.TemporaryFile() as psql_err:
        restore = subprocess.Popen([pgtools.tool("pg_restore"), "--no-owner", "--no-privileges", "-f", "-", dump_path],
                                   stdout=subprocess.PIPE, stderr=restore_err, env=pgtools.environment())
        psql = subprocess.Popen([pgtools.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                                 "-f", "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err,
                                env=pgtools.environment())
        broken = False
        try:
            in_copy = False
            for raw in restore.stdout:
                if in_copy:
                    if raw == b"\\.\n":
                        in_copy = False
                    psql.stdin.write(raw)
                    continue
                line = raw.decode()
                if line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;"):
                    in_copy = True
                psql.stdin.write(pattern.sub(replace_with, line).encode())
        except BrokenPipeError:  # psql stopped at an error: its message says which
            broken = True
        finally:
            try:
                psql.stdin.close()
            except BrokenPipeError:
                broken = True
            restore.stdout.close()
            restore_code, psql_code = restore.wait(), psql.wait()
        if restore_code != 0:
            restore_err.seek(0)
            raise DataError("pg_restore could not read the dump: " + _tail(restore_err.read()))
        if psql_code != 0 or broken:
            psql_err.seek(0)
            raise DataError(f"loading the dump as schema {new!r} failed (nothing was kept): " + _tail(psql_err.read()))


def _tail(data: bytes) -> str:
    return " | ".join(data.decode(errors="replace").strip().splitlines()[-3:]) or "no message"


def verify_schema(schema: str, manifest: dict) -> None:
    """The loaded schema must hold exactly what the archive's fingerprint says, and nothing
    in it may depend on another tenant's schema."""
    with connection.cursor() as cursor:
        actual = snapshot.fingerprint(cursor, schema)
        foreign = snapshot.foreign_references(cursor, schema)
    problems = snapshot.compare(manifest["fingerprint"], actual)
    if foreign:
        problems.append("objects still depend on another schema: " + "; ".join(foreign[:3]))
    if problems:
        raise DataError(f"the restored schema {schema!r} does not match the backup: " + "; ".join(problems[:5]))


def _move_stored_names(schema: str, *, old: str, new: str) -> None:
    """Stored names in the restored rows (registered columns) follow the files to the new prefix."""
    with connection.cursor() as cursor:
        for table, column in sorted(stored.STORED_NAME_COLUMNS):
            cursor.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", [schema, table])
            if cursor.fetchone() is None:
                continue
            for old_prefix, new_prefix in ((stored.tenant_prefix(old), stored.tenant_prefix(new)),
                                           (stored.whitelabel_prefix(old), stored.whitelabel_prefix(new))):
                cursor.execute(
                    f'UPDATE "{schema}"."{table}" SET "{column}" = %s || substr("{column}", %s) '
                    f'WHERE starts_with("{column}", %s)',
                    [new_prefix, len(old_prefix) + 1, old_prefix],
                )


def _drop_quietly(schema: str) -> None:
    try:
        connection.set_schema_to_public()
        provisioning.schema_drop(schema)
    except Exception:  # the original error matters more
        logger.exception("could not drop %s after a failed restore", schema)


# --- files -----------------------------------------------------------------------------


def copy_files(opened: Opened, *, old: str, new: str) -> tuple[int, list[str], list[str]]:
    """The manifest's files under the new prefix, from the archive (an export) or from the
    original's storage (a backup); each copy checked against its manifest checksum.
    Returns (copied, missing source names, stored target names)."""
    copied, missing, written = 0, [], []
    for entry in opened.manifest["files"]:
        target = stored.rename_prefix(entry["name"], old_schema=old, new_schema=new) if old != new else entry["name"]
        if opened.manifest.get("files_included"):
            source_path = opened.file_path(entry["name"])
            if not source_path.exists():
                missing.append(entry["name"])
                continue
            if default_storage.exists(target):
                default_storage.delete(target)
            with open(source_path, "rb") as handle:
                saved = default_storage.save(target, File(handle))
        else:
            if not default_storage.exists(entry["name"]):
                missing.append(entry["name"])
                continue
            if old == new:
                continue  # restoring into itself: the file is where it was
            saved = stored.copy(entry["name"], target)
        written.append(saved)
        if saved != target or not stored.verify_checksum(saved, entry["checksum"]):
            raise DataError(f"the copy of {entry['name']} does not match its checksum in the manifest")
        copied += 1
    return copied, missing, written


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            logger.exception("could not delete %s after a failed restore", name)


# --- public rows and meters ------------------------------------------------------------------


def _brand_restore(organization: Organization, manifest: dict, *, old: str) -> None:
    rows = manifest["organization"].get("brand") or []
    if not rows:
        Brand.objects.filter(organization=organization).delete()
        return
    values = {k: v for k, v in rows[0]["fields"].items() if k in BRAND_FIELDS}
    for key in ("logo", "favicon"):
        if values.get(key) and old != organization.schema_name:
            values[key] = stored.rename_prefix(values[key], old_schema=old, new_schema=organization.schema_name)
    Brand.objects.update_or_create(organization=organization, defaults=values)
    transaction.on_commit(lambda: brand_cache_invalidate(organization=organization))


def _meters_record(organization: Organization, manifest: dict, *, reason: str) -> None:
    """Gauges from what the tenant now holds: seats and stored bytes (the ledger keeps history)."""
    stored_bytes = sum(e["size"] for e in manifest["files"] if e["name"].startswith(stored.tenant_prefix(organization.schema_name)))
    meters.record(organization=organization, metric=metrics.AGENT_SEAT, quantity=seat_count(organization=organization),
                  idempotency_key=f"seat:{organization.pk}:{reason}")
    meters.record(organization=organization, metric=metrics.STORAGE_BYTES, quantity=stored_bytes,
                  idempotency_key=f"storage:{organization.pk}:{reason}")


# --- the two restores ----------------------------------------------------------------------


def restore_into_new(opened: Opened, *, slug: str, name: str | None = None, keep_parent: bool = True,
                     what: str, actor_label: str = "") -> Restored:
    """A new organization `slug` from the archive, under its own schema, with copies of
    its files; the archive's own tenant (if it is here) is not touched."""
    manifest = opened.manifest
    missing_migrations = migrations_to_apply(manifest, what=what)
    source = manifest["organization"]["organization"]
    try:
        validate_slug(slug)
        host = validate_domain(tenant_host(slug))
    except provisioning.ProvisioningError as exc:
        raise DataError(str(exc)) from exc
    plan = Plan.objects.filter(code=source["plan"]).first()
    if plan is None:
        raise DataError(f"{what} is on plan {source['plan']!r}, which this installation does not have")
    new_schema = schema_name_for(slug)
    old_schema = manifest["schema"]
    connection.set_schema_to_public()
    load_schema(str(opened.dump), old=old_schema, new=new_schema)
    written: list[str] = []
    try:
        verify_schema(new_schema, manifest)
        copied, missing, written = copy_files(opened, old=old_schema, new=new_schema)
        with transaction.atomic():
            parent = Organization.objects.filter(slug=source["parent"]).first() if keep_parent and source["parent"] else None
            organization = Organization.objects.create(
                schema_name=new_schema, name=name or source["name"], slug=slug, kind=source["kind"], parent=parent,
                status=source["status"], plan=plan, status_changed_at=timezone.now(),
            )
            Domain.objects.create(domain=host, tenant=organization, is_primary=True, is_verified=True)
            subscription_start(organization=organization, plan=plan)
            _brand_restore(organization, manifest, old=old_schema)
            _move_stored_names(new_schema, old=old_schema, new=new_schema)
            with schema_context(new_schema):
                audit_record(action="tenant.restored", actor_label=actor_label, target=slug,
                             detail={"from": source["slug"], "archive": manifest["id"], "kind": manifest["kind"]})
            _meters_record(organization, manifest, reason=f"restore:{manifest['id']}")
            transaction.on_commit(lambda: invalidate_hosts([host]))
    except BaseException:
        _drop_quietly(new_schema)
        _delete_files(written)
        raise
    if missing_migrations:
        from django.core.management import call_command

        call_command("migrate_schemas", schema_name=new_schema, interactive=False, verbosity=0)
        connection.set_schema_to_public()
    tables = manifest["fingerprint"]["tables"]
    return Restored(organization=organization, schema=new_schema, tables=len(tables),
                    rows=sum(t["rows"] for t in tables.values()), files_copied=copied, files_missing=missing,
                    migrated=missing_migrations)


def restore_replace(organization: Organization, opened: Opened, *, safety_backup: str | None, what: str,
                    actor_label: str = "") -> Restored:
    """Replace the organization's schema with the archive's: loaded and checked under a
    scratch name first, then swapped in by two renames in one transaction."""
    manifest = opened.manifest
    if manifest["schema"] != organization.schema_name:
        raise DataError(f"{what} is of schema {manifest['schema']!r}, not {organization.schema_name!r}: "
                        "restore it into a new organization (--into NEW_SLUG)")
    if migrations_to_apply(manifest, what=what):
        raise DataError(f"{what} predates this installation's migrations: restore it into a new organization "
                        "(--into NEW_SLUG), which migrates it")
    schema = organization.schema_name
    token = uuid.uuid4().hex[:8]
    scratch, retired = f"{schema[:50]}_r{token}", f"{schema[:50]}_o{token}"
    connection.set_schema_to_public()
    load_schema(str(opened.dump), old=schema, new=scratch)
    try:
        verify_schema(scratch, manifest)
        _copied, missing, _written = copy_files(opened, old=schema, new=schema)
        with transaction.atomic():
            Organization.objects.select_for_update().get(pk=organization.pk)
            with connection.cursor() as cursor:
                cursor.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{retired}"')
                cursor.execute(f'ALTER SCHEMA "{scratch}" RENAME TO "{schema}"')
                cursor.execute(f'DROP SCHEMA "{retired}" CASCADE')
            _brand_restore(organization, manifest, old=schema)
            with schema_context(schema):
                audit_record(action="tenant.restored", actor_label=actor_label, target=organization.slug,
                             detail={"archive": manifest["id"], "safety_backup": safety_backup})
            _meters_record(organization, manifest, reason=f"restore:{manifest['id']}:{token}")
            transaction.on_commit(lambda: invalidate_organization(organization))
    except BaseException:
        _drop_quietly(scratch)
        raise
    tables = manifest["fingerprint"]["tables"]
    return Restored(organization=organization, schema=schema, tables=len(tables),
                    rows=sum(t["rows"] for t in tables.values()), files_missing=missing, safety_backup=safety_backup)
