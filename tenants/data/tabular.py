"""The tenant owner's copy of their data: every table of their schema as CSV in a zip,
plus their stored files, secrets left out (password hashes, token digests, signing and
encryption secrets). Generic over the schema: it reads the catalogue, not app models."""

from __future__ import annotations

import csv
import io
import re
import zipfile

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from orbit.lib import storage as stored
from tenants.data import snapshot

SKIP_TABLES = {"django_session", "django_migrations", "django_content_type", "auth_permission"}
SECRET_COLUMNS = re.compile(r"(password|secret|token|digest|hash|seed|otp|totp|recovery|key_id|_key$)", re.I)


def tenant_data_zip(*, organization, workdir: str) -> str:
    """Write the zip under `workdir`, store it under tenants/<schema>/exports/; its name."""
    schema = organization.schema_name
    path = f"{workdir}/data.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive, connection.cursor() as cursor:
        for table, pk in snapshot.tables(cursor, schema):
            if table in SKIP_TABLES:
                continue
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                "ORDER BY ordinal_position", [schema, table])
            columns = [c for (c,) in cursor.fetchall() if not SECRET_COLUMNS.search(c)]
            order = ", ".join(f'"{c}"' for c in pk) or "1"
            cursor.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns)} FROM "{schema}"."{table}" ORDER BY {order}')
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(columns)
            writer.writerows(cursor.fetchall())
            archive.writestr(f"tables/{table}.csv", buffer.getvalue())
        for name, _size, _etag in stored.walk(stored.tenant_path(schema, "uploads") + "/"):
            with default_storage.open(name, "rb") as handle, archive.open("files/" + name[len(stored.tenant_prefix(schema)):], "w") as out:
                for block in iter(lambda: handle.read(1024 * 1024), b""):
                    out.write(block)
    name = stored.tenant_path(schema, "exports", f"data-{timezone.now():%Y%m%dT%H%M%SZ}.zip")
    with open(path, "rb") as handle:
        return default_storage.save(name, File(handle))


def tenant_data_exports(*, organization) -> list[tuple[str, int]]:
    """The tenant's stored data exports (name, size), newest first."""
    prefix = stored.tenant_path(organization.schema_name, "exports") + "/"
    return sorted(((n, s) for n, s, _ in stored.walk(prefix) if n.rsplit("/", 1)[-1].startswith("data-")), reverse=True)
