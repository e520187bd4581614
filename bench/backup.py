"""Benchmark: backing up and restoring one tenant (100,000 messages, 1,000 files) among
many other tenant schemas, next to a bare `pg_dump -n` / `pg_restore` of the same schema.

    .venv/bin/python bench/backup.py [--messages 100000] [--files 1000] [--others 1000] [--rounds 3]
                                     [--json bench/results/backup.json]

Runs on its own database (`orbit_bench_backup_<pid>`, on the server of DATABASE_URL, dropped
before and after), its own Redis logical database and a temporary media folder.

Setup: `--others` schemas with the tenant tables (the migrated template's DDL, created in
one psql session: they weigh on pg_dump's catalogue reads as real tenants do) and one
organization with --messages messages (10 per conversation), --files attachments of 4 KB
(files on the local filesystem storage) and a few hundred contacts.

Per round, interleaved:
  bare dump     pg_dump --format=custom --schema=<schema> (the same client tools)
  backup        tenants.data backup_create: pg_dump in an exported snapshot + fingerprint
                (row count and checksum of every table, catalogue) + file manifest
                (sha256 of every file) + public rows + AES-GCM encryption + storage
  bare restore  pg_restore --no-owner of the bare dump into a fresh empty database
                (a bare pg_restore cannot put a schema under another name)
  restore       tenants.data tenant_restore --into a new slug: fetch, SHA-256 and AES-GCM
                checks, pg_restore SQL renamed into psql (one transaction), verification
                against the fingerprint and for cross-schema references, files copied and
                verified, organization rows; the new organization is deleted after
Aims (informative): each ≤ 5 s, and ≤ 1.5× the bare tool.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    RESULTS,
    bench_database_name,
    database_drop,
    database_recreate,
    django_setup,
    source_database_url,
    with_database,
    write_json,
)

BENCH_DB = bench_database_name("orbit_bench_backup")
SCRATCH_DB = BENCH_DB + "_bare"
DEFAULT_JSON = RESULTS / "backup.json"
AIM_S, AIM_RATIO = 5.0, 1.5


def create_other_schemas(count: int) -> float:
    """`count` schemas with the template's tables, by its schema-only SQL renamed, in one psql."""
    from tenants.data import pgtools

    started = time.perf_counter()
    ddl = subprocess.run([pgtools.tool("pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
                          "--schema=orbit_template"], env=pgtools.environment(), capture_output=True, check=True).stdout.decode()
    ddl = "\n".join(line for line in ddl.splitlines() if not line.startswith("\\"))
    from tenants.data.restore import _rename_pattern

    pattern = _rename_pattern("orbit_template")
    batch = 50
    for start in range(0, count, batch):
        script = "".join(pattern.sub(f"other_{i:05d}", ddl) for i in range(start, min(count, start + batch)))
        subprocess.run([pgtools.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"],
                       input=script.encode(), env=pgtools.environment(), check=True, stdout=subprocess.DEVNULL)
        print(f"  other schemas: {min(count, start + batch)}/{count}", end="\r", flush=True)
    print()
    return time.perf_counter() - started


def populate(organization, *, messages: int, files: int) -> None:
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import connection

    schema = organization.schema_name
    conversations = max(1, messages // 10)
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {schema}")
        cursor.execute("INSERT INTO chat_inbox (name, public_key, allowed_origins, greeting, business_hours, time_zone, "
                       "prechat_fields, hmac_secret, require_identity, auto_assign, auto_assign_capacity, created_at) "
                       "VALUES ('Site', 'bench-key', '[]', '', '{}', 'America/Sao_Paulo', '[]', %s, false, false, 5, now()) "
                       "RETURNING id", [uuid.uuid4().hex * 2])
        inbox = cursor.fetchone()[0]
        cursor.execute("INSERT INTO chat_contact (name, email, phone, custom_attributes, created_at) "
                       "SELECT 'Visitante ' || g, 'v' || g || '@example.com', '', '{}', now() FROM generate_series(1, 500) g")
        cursor.execute(
            "INSERT INTO chat_conversation (inbox_id, contact_id, status, priority, last_seq, last_activity_at, created_at) "
            "SELECT %s, (SELECT min(id) FROM chat_contact) + (g %% 500), 'open', 0, 10, now(), now() "
            "FROM generate_series(1, %s) g", [inbox, conversations])
        cursor.execute(
            "INSERT INTO chat_message (conversation_id, seq, sender_type, body, is_private, client_id, created_at) "
            "SELECT c.id, s, CASE WHEN s % 2 = 0 THEN 'agent' ELSE 'contact' END, "
            "'Mensagem ' || s || ' da conversa ' || c.id || ': ' || repeat('texto ', 8), false, gen_random_uuid(), now() "
            "FROM chat_conversation c CROSS JOIN generate_series(1, 10) s")
        cursor.execute("SET search_path TO public")
    names = []
    for _i in range(files):
        name = f"tenants/{schema}/uploads/images/2026/12/{uuid.uuid4().hex}.png"
        names.append(default_storage.save(name, ContentFile(b"\x89PNG\r\n\x1a\n" + os.urandom(4088))))
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {schema}")
        cursor.execute("SELECT id FROM chat_message ORDER BY id LIMIT %s", [files])
        ids = [r[0] for r in cursor.fetchall()]
        cursor.executemany(
            "INSERT INTO chat_attachment (message_id, kind, file, content_type, size, original_name, created_at) "
            "VALUES (%s, 'image', %s, 'image/png', 4096, 'foto.png', now())", list(zip(ids, names, strict=True)))
        cursor.execute("ANALYZE")
        cursor.execute("SET search_path TO public")


def bare_dump(schema: str, path: str) -> float:
    from tenants.data import pgtools

    started = time.perf_counter()
    pgtools.run([pgtools.tool("pg_dump"), "--format=custom", f"--schema={schema}", "--no-owner", "--no-privileges",
                 f"--file={path}"], what="bare pg_dump")
    return time.perf_counter() - started


def bare_restore(url: str, path: str) -> float:
    from tenants.data import pgtools

    database_recreate(url, SCRATCH_DB)
    env = {**pgtools.environment(), "PGDATABASE": SCRATCH_DB}
    started = time.perf_counter()
    subprocess.run([pgtools.tool("pg_restore"), "--no-owner", "--no-privileges", "-d", SCRATCH_DB, path], env=env,
                   check=True, capture_output=True)
    took = time.perf_counter() - started
    database_drop(url, SCRATCH_DB)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1_000)
    parser.add_argument("--others", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()

    url = source_database_url()
    bench_url = with_database(url, BENCH_DB)
    database_recreate(url, BENCH_DB)
    media = tempfile.mkdtemp(prefix="orbit-bench-media-")
    try:
        django_setup(bench_url, args.redis_db)
        from django.conf import settings

        settings.STORAGES["default"] = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                        "OPTIONS": {"location": media}}
        from django.core.cache import caches
        from django.core.management import call_command

        call_command("migrate_schemas", interactive=False, verbosity=0)
        caches["shared"].clear()
        from tenants.data import pgtools
        from tenants.data.services import backup_create, tenant_restore
        from tenants.models import Organization
        from tenants.services import organization_create, organization_delete

        others_s = create_other_schemas(args.others)
        print(f"setup: {args.others} other tenant schemas in {others_s:.1f} s", flush=True)
        org = organization_create(name="Bench Grande", slug="bench-grande", plan="business", use_pool=False)
        started = time.perf_counter()
        populate(org, messages=args.messages, files=args.files)
        print(f"setup: {args.messages:,} messages, {args.files:,} files in {time.perf_counter() - started:.1f} s "
              f"(tools {pgtools.bin_dir()})", flush=True)

        rows = {"bare_dump": [], "backup": [], "bare_restore": [], "restore": []}
        sizes = {}
        work = tempfile.mkdtemp(prefix="orbit-bench-dump-")
        for round_ in range(args.rounds):
            dump_path = os.path.join(work, "bare.dump")
            rows["bare_dump"].append(bare_dump(org.schema_name, dump_path))
            sizes["bare_dump"] = os.path.getsize(dump_path)
            started = time.perf_counter()
            entry = backup_create(organization=org)
            rows["backup"].append(time.perf_counter() - started)
            sizes["backup"] = entry.size
            rows["bare_restore"].append(bare_restore(url, dump_path))
            started = time.perf_counter()
            restored = tenant_restore(organization=org, backup_id=entry.id, into=f"bench-copia-{round_}")
            rows["restore"].append(time.perf_counter() - started)
            assert restored.files_copied == args.files and not restored.files_missing
            organization_delete(organization=Organization.objects.get(slug=f"bench-copia-{round_}"))
            print(f"round {round_ + 1}: " + "  ".join(f"{k} {v[-1]:.2f} s" for k, v in rows.items()), flush=True)

        med = {k: statistics.median(v) for k, v in rows.items()}
        table = [
            ("backup", med["backup"], med["bare_dump"]),
            ("restore (into a new slug)", med["restore"], med["bare_restore"]),
        ]
        print()
        print(f"| step | Orbit (s) | bare tool (s) | ratio | aim ≤ {AIM_S:.0f} s and ≤ {AIM_RATIO}× |")
        print("|---|---|---|---|---|")
        verdicts = {}
        for name, ours, bare in table:
            ratio = ours / bare if bare else float("inf")
            ok = ours <= AIM_S and ratio <= AIM_RATIO
            verdicts[name] = ok
            print(f"| {name} | {ours:.2f} | {bare:.2f} | {ratio:.2f}× | {'PASS' if ok else 'MISS'} |")
        print(f"\nmedians of {args.rounds} rounds; backup {sizes['backup']:,} bytes encrypted, "
              f"bare dump {sizes['bare_dump']:,} bytes; {args.others} other schemas")
        write_json(args.json, {
            "messages": args.messages, "files": args.files, "others": args.others, "rounds": rows,
            "medians": med, "sizes": sizes, "verdicts": verdicts, "cores": os.cpu_count(),
            "python": platform.python_version(), "tools": str(pgtools.bin_dir()),
        })
    finally:
        from django.db import connections

        connections.close_all()
        database_drop(url, SCRATCH_DB)
        database_drop(url, BENCH_DB)
        import shutil

        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
