"""What a schema holds, read in one snapshot with its dump: per table its row count and a
checksum of its rows, every sequence's value, its catalogue (constraints, indexes, column
defaults, schema name left out) and its applied migrations. A restore compares the
restored schema with this, so "it worked" is checked, not assumed."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
from django.db import connection

from tenants import provisioning
from tenants.data import pgtools


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def snapshot_connection():
    """A read-only REPEATABLE READ connection of its own whose snapshot pg_dump can share."""
    env = pgtools.environment()
    conninfo = {"dbname": env.get("PGDATABASE"), "user": env.get("PGUSER"), "host": env.get("PGHOST"),
                "port": env.get("PGPORT"), "password": env.get("PGPASSWORD"), "sslmode": env.get("PGSSLMODE")}
    conn = psycopg.connect(**{k: v for k, v in conninfo.items() if v})
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        yield conn
    finally:
        conn.close()


def export_snapshot(conn) -> str:
    return conn.execute("SELECT pg_export_snapshot()").fetchone()[0]


def tables(cursor, schema: str) -> list[tuple[str, list[str]]]:
    """Every table of the schema with its primary-key columns (for a stable row order)."""
    cursor.execute(
        """
        SELECT c.relname,
               coalesce((SELECT array_agg(a.attname ORDER BY k.ord)
                         FROM pg_index i
                         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                         WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
        ORDER BY c.relname
        """,
        [schema],
    )
    return [(name, list(pk)) for name, pk in cursor.fetchall()]


def table_stats(cursor, schema: str) -> dict[str, dict]:
    """{table: {"rows": n, "checksum": md5 of its rows in key order}} in one statement."""
    found = tables(cursor, schema)
    if not found:
        return {}
    parts = []
    for table, pk in found:
        order = ", ".join(f"t.{_q(c)}" for c in pk) if pk else "t::text"
        parts.append(
            f"SELECT %s, count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) "
            f"FROM {_q(schema)}.{_q(table)} t"
        )
    cursor.execute(" UNION ALL ".join(parts), [t for t, _ in found])
    return {name: {"rows": rows, "checksum": digest} for name, rows, digest in cursor.fetchall()}


def sequences(cursor, schema: str) -> dict[str, int | None]:
    cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s", [schema])
    return dict(cursor.fetchall())


def catalogue_of(cursor, schema: str) -> dict[str, list]:
    """provisioning.catalogue's view (names kept, schema name stripped), as sorted lists."""
    strip = provisioning._normalise
    cursor.execute(
        """
        SELECT cl.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
        JOIN pg_namespace ns ON ns.oid = cl.relnamespace WHERE ns.nspname = %s
        """,
        [schema],
    )
    constraints = sorted([t, n, k, strip(d, schema)] for t, n, k, d in cursor.fetchall())
    cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s", [schema])
    indexes = sorted([t, n, strip(d, schema)] for t, n, d in cursor.fetchall())
    cursor.execute(
        """
        SELECT table_name::text, column_name::text, data_type::text, is_nullable::text,
               coalesce(column_default, ''), is_identity::text
        FROM information_schema.columns WHERE table_schema = %s
        """,
        [schema],
    )
    columns = sorted([t, c, ty, nl, strip(d, schema), ident] for t, c, ty, nl, d, ident in cursor.fetchall())
    return {"constraints": constraints, "indexes": indexes, "columns": columns}


def migrations_of(cursor, schema: str) -> list[list[str]]:
    cursor.execute(f"SELECT app, name FROM {_q(schema)}.django_migrations ORDER BY app, name")
    return [list(row) for row in cursor.fetchall()]


def fingerprint(cursor, schema: str) -> dict:
    return {
        "tables": table_stats(cursor, schema),
        "sequences": sequences(cursor, schema),
        "catalogue": catalogue_of(cursor, schema),
        "migrations": migrations_of(cursor, schema),
    }


def foreign_references(cursor, schema: str) -> list[str]:
    """Objects of `schema` that depend on an object of another schema (but public and
    pg_catalog): after a restore under a new name there must be none (a default, foreign
    key, index, sequence or view still pointing at the old schema)."""
    cursor.execute(
        """
        WITH mine AS (
            SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s
        )
        SELECT DISTINCT coalesce(pg_describe_object(d.classid, d.objid, d.objsubid), '?')
               || ' -> ' || coalesce(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), '?')
        FROM pg_depend d
        JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
        JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE rn.nspname NOT IN (%s, 'public', 'pg_catalog', 'information_schema')
          AND (
            (d.classid = 'pg_class'::regclass AND d.objid IN (SELECT oid FROM mine))
            OR (d.classid = 'pg_attrdef'::regclass AND d.objid IN (
                SELECT ad.oid FROM pg_attrdef ad WHERE ad.adrelid IN (SELECT oid FROM mine)))
            OR (d.classid = 'pg_constraint'::regclass AND d.objid IN (
                SELECT co.oid FROM pg_constraint co WHERE co.conrelid IN (SELECT oid FROM mine)))
            OR (d.classid = 'pg_rewrite'::regclass AND d.objid IN (
                SELECT rw.oid FROM pg_rewrite rw WHERE rw.ev_class IN (SELECT oid FROM mine)))
          )
        ORDER BY 1
        """,
        [schema, schema],
    )
    return [row[0] for row in cursor.fetchall()]


def compare(expected: dict, actual: dict, *, skip_checksums: set[str] = frozenset()) -> list[str]:
    """What differs between two fingerprints, in words (empty: equal)."""
    problems = []
    exp_tables, act_tables = expected["tables"], actual["tables"]
    for table in sorted(set(exp_tables) | set(act_tables)):
        e, a = exp_tables.get(table), act_tables.get(table)
        if e is None or a is None:
            problems.append(f"table {table} is {'missing' if a is None else 'unexpected'}")
        elif e["rows"] != a["rows"]:
            problems.append(f"table {table}: {a['rows']} rows, the backup has {e['rows']}")
        elif table not in skip_checksums and e["checksum"] != a["checksum"]:
            problems.append(f"table {table}: its rows differ from the backup's (checksum)")
    if expected["sequences"] != actual["sequences"]:
        problems.append("sequence values differ from the backup's")
    for part in ("constraints", "indexes", "columns"):
        e = {tuple(x) for x in expected["catalogue"][part]}
        a = {tuple(x) for x in actual["catalogue"][part]}
        if e != a:
            sample = sorted(map(str, (e ^ a)))[:3]
            problems.append(f"{part} differ from the backup's: {'; '.join(sample)}")
    return problems


def live_fingerprint(schema: str) -> dict:
    with connection.cursor() as cursor:
        return fingerprint(cursor, schema)
