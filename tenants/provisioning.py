"""Schemas for new tenants, without replaying migrations in a request.

A migrated, empty template schema is cloned (django-tenants' clone_schema function),
and a warm pool of pre-cloned schemas turns creation into a rename. Known traps and
what guards each:

* clone_schema gives multi-column unique constraints PostgreSQL's default names, so a
  later RemoveConstraint would fail on cloned tenants only: after cloning, every
  constraint and index is renamed to the template's name and the two catalogues must
  then match, or the clone is refused (`catalogue`).
* django-tenants fakes the migrations a stale template lacks: the template's applied
  migrations must equal the code's tenant migrations, or cloning is refused.
* pool schemas are not tenants, so `migrate_schemas` skips them: each carries the
  fingerprint of its migrations and a stale one is dropped, never handed out.
* every row in the template is copied: it must hold no rows beyond Django's
  migration and content-type bookkeeping.
* cloning many times on one connection slows down: the pool refill reconnects per clone.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

from orbit.lib.errors import OrbitError
from tenants.models import PoolSchema

# Tables whose rows the template may hold: they describe the schema, not a tenant.
TEMPLATE_BOOKKEEPING_TABLES = {"django_migrations", "django_content_type", "auth_permission"}
POOL_PREFIX = "pool_"


class ProvisioningError(OrbitError):
    """A provisioning step was refused; the message says why, for a person."""

    code = "provisioning_refused"


class TemplateStale(ProvisioningError):
    pass


def template_schema_name() -> str:
    return settings.ORBIT_TEMPLATE_SCHEMA


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


# --- migrations ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def expected_tenant_migrations() -> frozenset[tuple[str, str]]:
    """Every migration of the tenant apps that the code on disk defines."""
    tenant_labels = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(node for node in loader.graph.nodes if node[0] in tenant_labels)


def migration_fingerprint(migrations=None) -> str:
    names = sorted(migrations if migrations is not None else expected_tenant_migrations())
    return hashlib.sha256("\n".join(f"{a}.{n}" for a, n in names).encode()).hexdigest()


def applied_migrations(schema_name: str) -> frozenset[tuple[str, str]]:
    tenant_labels = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {_quote(schema_name)}.django_migrations")
        return frozenset(row for row in cursor.fetchall() if row[0] in tenant_labels)


# --- template -------------------------------------------------------------------------


def template_migrate(verbosity: int = 0) -> None:
    """Create the template schema if needed and apply every tenant migration to it."""
    from django.core.management import call_command

    name = template_schema_name()
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {_quote(name)}")
    call_command("migrate_schemas", schema_name=name, tenant=True, interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()
    # a new django-tenants release may change clone_schema(): reinstall it with the template
    CloneSchema()._create_clone_schema_function()
    _clone_function_ready.add(connection.settings_dict["NAME"])


def template_data_tables() -> list[str]:
    """Tables of the template that hold rows they should not (every tenant would get them)."""
    name = template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [name]
        )
        tables = [row[0] for row in cursor.fetchall() if row[0] not in TEMPLATE_BOOKKEEPING_TABLES]
        if not tables:
            return []
        union = " UNION ALL ".join(
            f"(SELECT %s FROM {_quote(name)}.{_quote(t)} LIMIT 1)" for t in tables
        )
        cursor.execute(union, tables)
        return sorted(row[0] for row in cursor.fetchall())


def template_check() -> None:
    """Refuse to clone from a template that is missing, behind or ahead, or not empty."""
    name = template_schema_name()
    if not schema_exists(name):
        raise TemplateStale(f"the template schema {name!r} does not exist: run `manage.py migrate_schemas`")
    applied = applied_migrations(name)
    expected = expected_tenant_migrations()
    if applied != expected:
        missing = sorted(f"{a}.{n}" for a, n in expected - applied)
        extra = sorted(f"{a}.{n}" for a, n in applied - expected)
        raise TemplateStale(
            f"the template schema {name!r} is not at the code's migrations "
            f"(missing: {', '.join(missing) or '-'}; unknown: {', '.join(extra) or '-'}): "
            "run `manage.py migrate_schemas`"
        )
    dirty = template_data_tables()
    if dirty:
        raise ProvisioningError(f"the template schema {name!r} holds rows in {', '.join(dirty)}: it must stay empty")


# --- catalogue ------------------------------------------------------------------------


def _normalise(definition: str, schema_name: str) -> str:
    return re.sub(rf'"?{re.escape(schema_name)}"?\.', "", definition)


def catalogue(schema_name: str) -> dict[str, set]:
    """What a migration defines in a schema, names included, schema name left out."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cl.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
            FROM pg_constraint con
            JOIN pg_class cl ON cl.oid = con.conrelid
            JOIN pg_namespace ns ON ns.oid = cl.relnamespace
            WHERE ns.nspname = %s
            """,
            [schema_name],
        )
        constraints = {(t, n, k, _normalise(d, schema_name)) for t, n, k, d in cursor.fetchall()}
        cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s", [schema_name])
        indexes = {(t, n, _normalise(d, schema_name)) for t, n, d in cursor.fetchall()}
        cursor.execute(
            """
            SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
            FROM information_schema.columns WHERE table_schema = %s
            """,
            [schema_name],
        )
        columns = {(t, c, ty, nl, _normalise(d, schema_name)) for t, c, ty, nl, d in cursor.fetchall()}
    return {"constraints": constraints, "indexes": indexes, "columns": columns}


def _restore_names(reference: dict[str, set], clone: str) -> dict[str, set]:
    """Give the clone's constraints and indexes the template's names; return its catalogue."""
    dst = catalogue(clone)
    by_definition = {(t, k, d): n for t, n, k, d in reference["constraints"]}
    renamed = False
    with connection.cursor() as cursor:
        for table, name, kind, definition in dst["constraints"]:
            wanted = by_definition.get((table, kind, definition))
            if wanted and wanted != name:
                # renaming a unique constraint renames the index behind it too
                cursor.execute(
                    f"ALTER TABLE {_quote(clone)}.{_quote(table)} RENAME CONSTRAINT {_quote(name)} TO {_quote(wanted)}"
                )
                renamed = True
    if renamed:
        dst = catalogue(clone)
    strip = lambda name, d: d.replace(_quote(name), "").replace(f" {name} ", " ")  # noqa: E731
    by_index_definition = {(t, strip(n, d)): n for t, n, d in reference["indexes"]}
    renamed = False
    with connection.cursor() as cursor:
        for table, name, definition in dst["indexes"]:
            wanted = by_index_definition.get((table, strip(name, definition)))
            if wanted and wanted != name:
                cursor.execute(f"ALTER INDEX {_quote(clone)}.{_quote(name)} RENAME TO {_quote(wanted)}")
                renamed = True
    return catalogue(clone) if renamed else dst


_clone_function_ready: set[str] = set()


def _ensure_clone_function() -> None:
    """Install django-tenants' clone_schema() function once per database and process;
    re-creating its 4,500 lines on every clone costs ~70 ms."""
    database = connection.settings_dict["NAME"]
    if database in _clone_function_ready:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname = 'clone_schema'"
        )
        installed = cursor.fetchone() is not None
    if not installed:
        CloneSchema()._create_clone_schema_function()
    _clone_function_ready.add(database)


def schema_clone(schema_name: str) -> None:
    """Clone the template into a new schema, identical to a migrated one, names included."""
    template_check()
    template = template_schema_name()
    _ensure_clone_function()
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.clone_schema(%s, %s, 'DATA')", [template, schema_name])
    reference = catalogue(template)
    if _restore_names(reference, schema_name) != reference:
        raise ProvisioningError(f"the clone {schema_name!r} does not match the template's catalogue")


def schema_rename(old: str, new: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER SCHEMA {_quote(old)} RENAME TO {_quote(new)}")


def schema_drop(schema_name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(schema_name)} CASCADE")


# --- warm pool ------------------------------------------------------------------------


def pool_take() -> str | None:
    """Claim a current pool schema (caller's transaction); None when the pool is empty.

    A pool schema from before the latest migrations is dropped, never handed out."""
    fingerprint = migration_fingerprint()
    while True:
        entry = PoolSchema.objects.select_for_update(skip_locked=True).order_by("created_at", "id").first()
        if entry is None:
            return None
        entry.delete()
        if entry.migration_fingerprint == fingerprint and schema_exists(entry.schema_name):
            return entry.schema_name
        schema_drop(entry.schema_name)


def pool_drop_stale() -> int:
    fingerprint = migration_fingerprint()
    dropped = 0
    for entry in PoolSchema.objects.exclude(migration_fingerprint=fingerprint):
        with transaction.atomic():
            schema_drop(entry.schema_name)
            entry.delete()
        dropped += 1
    return dropped


def pool_refill(size: int | None = None) -> int:
    """Clone schemas into the pool until it holds `size`; returns how many were added."""
    size = settings.ORBIT_POOL_SIZE if size is None else size
    pool_drop_stale()
    added = 0
    fingerprint = migration_fingerprint()
    while PoolSchema.objects.count() < size:
        name = f"{POOL_PREFIX}{uuid.uuid4().hex[:20]}"
        with transaction.atomic():
            schema_clone(name)
            PoolSchema.objects.create(schema_name=name, migration_fingerprint=fingerprint)
        added += 1
        # Repeated clones on one connection get slower; start each on a fresh one.
        connection.close()
    return added


def pool_empty() -> None:
    for entry in PoolSchema.objects.all():
        with transaction.atomic():
            schema_drop(entry.schema_name)
            entry.delete()
