"""Secrets at rest across every schema: what `manage.py secrets status` reports and what
`manage.py secrets rotate` does (accounts.crypto says how values are stored).

Rotation walks every table holding an EncryptedTextField in every schema that has it
(public, each tenant, the template and the warm pool), with schema-qualified SQL and no
search_path change. Per schema it is one transaction with the rows locked; values written
with an older key (or still in plaintext) are re-encrypted with the current key. Rows stay
readable throughout: every key in ORBIT_SECRETS_OLD_KEYS still decrypts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import connection, transaction

from accounts import crypto
from accounts.fields import encrypted_fields


@dataclass
class RotationReport:
    rewritten: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)  # "schema.table#pk" that no key opens
    schemas: int = 0


def _columns():
    """(table, pk column, column) of every encrypted field."""
    return sorted({(m._meta.db_table, m._meta.pk.column, f.column) for m, f in encrypted_fields()})


def _schemas_with(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = %s ORDER BY table_schema", [table]
        )
        return [row[0] for row in cursor.fetchall()]


def _qualified(schema: str, table: str) -> str:
    quote = connection.ops.quote_name
    return f"{quote(schema)}.{quote(table)}"


def secrets_status() -> dict[str, Counter]:
    """For each "table.column": how many values each key id wrote ("plain": not encrypted)."""
    status: dict[str, Counter] = {}
    for table, _pk, column in _columns():
        counts: Counter = Counter()
        for schema in _schemas_with(table):
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {_qualified(schema, table)}")
                for (stored,) in cursor.fetchall():
                    if stored:
                        counts[crypto.stored_key_id(stored)] += 1
        status[f"{table}.{column}"] = counts
    return status


def secrets_rotate(*, dry_run: bool = False) -> RotationReport:
    """Re-encrypt with the current key everything another key (or nobody) wrote."""
    report = RotationReport()
    prefix = f"{crypto.PREFIX}{crypto.current_key_id()}:"
    quote = connection.ops.quote_name
    seen_schemas: set[str] = set()
    for table, pk, column in _columns():
        for schema in _schemas_with(table):
            seen_schemas.add(schema)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {quote(pk)}, {quote(column)} FROM {_qualified(schema, table)} "
                        f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> '' FOR UPDATE"
                    )
                    rows = cursor.fetchall()
                    for key, stored in rows:
                        if stored.startswith(prefix):
                            report.current += 1
                            continue
                        try:
                            fresh = crypto.encrypt(crypto.decrypt(stored))
                        except crypto.SecretUndecryptable:
                            report.failed.append(f"{schema}.{table}#{key}")
                            continue
                        report.rewritten += 1
                        if not dry_run:
                            cursor.execute(
                                f"UPDATE {_qualified(schema, table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s",
                                [fresh, key],
                            )
    report.schemas = len(seen_schemas)
    return report
