"""Benchmark: usage-ledger ingestion and meter recompute, each against a plain baseline.

    .venv/bin/python bench/metering.py [--events 20000] [--orgs 1000] [--days 30] [--json bench/results/metering.json]

Runs on its own database (`orbit_bench_metering_<pid>`, on the server of DATABASE_URL, dropped
before and after; public schema only — the ledger never touches tenant schemas, so the
organizations are plain rows with a schema name and no schema) and its own Redis logical
database (--redis-db, flushed of the keys it wrote).

Ingestion (events/s):
  record()        billing.meters.record, one event per transaction (INSERT … ON CONFLICT
                  DO NOTHING RETURNING + the cached-counter update after commit)
  plain INSERT    the same row into a table with the same unique key and index (no FK, no
                  ON CONFLICT/RETURNING, no cache update), one per transaction
  record_many     billing.meters.record_many, 500 events per call
  plain batch     one multi-row INSERT of 500 rows into the plain table
each single-writer and with 8 concurrent writers (8 processes, one connection each).
Recompute: 1,000 organizations × 30 days of ledger (5 metrics, --per-day events each per
day): billing.services.meters_recompute (one aggregate + upsert of every meter) against a
plain `SELECT … GROUP BY` aggregate of the same rows, and the per-organization path (one
meters_recompute per organization, what 1,000 separate tasks would do).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for bench._common

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

BENCH_DB = bench_database_name("orbit_bench_metering")
DEFAULT_JSON = RESULTS / "metering.json"
WRITERS = 8
BATCH = 500
AIM_EVENTS_PER_S = 5000
AIM_RECOMPUTE_S = 60


def migrate_public() -> None:
    from django.core.management import call_command

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_plain (id bigserial PRIMARY KEY, organization_id bigint, metric varchar(32), "
            "quantity bigint, occurred_at timestamptz, ingested_at timestamptz, period date, "
            "idempotency_key varchar(200) UNIQUE)"
        )
        # the same indexes as the ledger, so the baseline differs only by what billing adds
        cursor.execute("CREATE INDEX bench_plain_period ON bench_plain (period, organization_id, metric)")


def organizations_create(count: int, run_id: str) -> list[int]:
    from django_tenants.utils import get_tenant_model

    from billing.models import Plan

    Organization = get_tenant_model()
    plan = Plan.objects.get(code="professional")
    orgs = [
        Organization(schema_name=f"b{run_id}_{i:05d}", name=f"Bench {i}", slug=f"b{run_id}-{i:05d}", plan=plan,
                     status="active")
        for i in range(count)
    ]
    Organization.objects.bulk_create(orgs, batch_size=1000)
    return list(Organization.objects.order_by("id").values_list("id", flat=True))


# --- ingestion ---------------------------------------------------------------------------


class _Org:
    def __init__(self, pk):
        self.pk = pk


def _ingest(way: str, org_ids: list[int], count: int, tag: str) -> float:
    """One writer: `count` events the given way; returns seconds."""
    from django.db import connection
    from django.utils import timezone

    from billing import meters

    metrics = ("message", "conversation_started", "api_call")
    start = time.perf_counter()
    if way == "record":
        for i in range(count):
            meters.record(organization=_Org(org_ids[i % len(org_ids)]), metric=metrics[i % 3],
                          idempotency_key=f"{tag}:{i}")
    elif way == "plain":
        now = timezone.now()
        with connection.cursor() as cursor:
            for i in range(count):
                cursor.execute(
                    "INSERT INTO bench_plain (organization_id, metric, quantity, occurred_at, ingested_at, period, "
                    "idempotency_key) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [org_ids[i % len(org_ids)], metrics[i % 3], 1, now, now, now.date().replace(day=1), f"{tag}:{i}"],
                )
    elif way == "record_many":
        for b in range(0, count, BATCH):
            meters.record_many(meters.Event(org_ids[i % len(org_ids)], metrics[i % 3], 1, f"{tag}:{i}")
                               for i in range(b, min(count, b + BATCH)))
    elif way == "plain_batch":
        now = timezone.now()
        with connection.cursor() as cursor:
            for b in range(0, count, BATCH):
                rows = range(b, min(count, b + BATCH))
                params = []
                for i in rows:
                    params += [org_ids[i % len(org_ids)], metrics[i % 3], 1, now, now, now.date().replace(day=1), f"{tag}:{i}"]
                cursor.execute(
                    "INSERT INTO bench_plain (organization_id, metric, quantity, occurred_at, ingested_at, period, "
                    "idempotency_key) VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows)),
                    params,
                )
    return time.perf_counter() - start


def _child(args) -> float:
    way, org_ids, count, tag, bench_url, redis_db = args
    django_setup(bench_url, redis_db)
    return _ingest(way, org_ids, count, tag)


def bench_ingestion(org_ids: list[int], events: int, bench_url: str, redis_db: int) -> dict:
    from django.db import connections

    results = {}
    ways = ["record", "plain", "record_many", "plain_batch"]
    for way in ways:  # warm-up
        _ingest(way, org_ids, 200, f"warm-{way}-{uuid.uuid4().hex[:6]}")
    for way in ways:
        seconds = _ingest(way, org_ids, events, f"{way}-1-{uuid.uuid4().hex[:6]}")
        results[f"{way}/1"] = {"events": events, "seconds": round(seconds, 3), "events_per_s": round(events / seconds)}
        print(f"  {way:<12} 1 writer : {events / seconds:>9,.0f} events/s", flush=True)
    connections.close_all()
    ctx = mp.get_context("spawn")
    with ctx.Pool(WRITERS) as pool:
        pool.map(_child, [("plain", org_ids, 10, f"spawn-{n}", bench_url, redis_db) for n in range(WRITERS)])
        for way in ways:
            tag = uuid.uuid4().hex[:6]
            per = events // WRITERS
            start = time.perf_counter()
            pool.map(_child, [(way, org_ids, per, f"{way}-8-{tag}-{n}", bench_url, redis_db) for n in range(WRITERS)])
            seconds = time.perf_counter() - start
            total = per * WRITERS
            results[f"{way}/{WRITERS}"] = {"events": total, "seconds": round(seconds, 3), "events_per_s": round(total / seconds)}
            print(f"  {way:<12} {WRITERS} writers: {total / seconds:>9,.0f} events/s", flush=True)
    # same keys from 8 writers count once
    tag = uuid.uuid4().hex[:6]
    with ctx.Pool(WRITERS) as pool:
        pool.map(_child, [("record_many", org_ids, 2000, f"dup-{tag}", bench_url, redis_db) for _ in range(WRITERS)])
    from billing.models import UsageEvent

    results["duplicates_check"] = {
        "writers": WRITERS, "keys": 2000, "rows": UsageEvent.objects.filter(idempotency_key__startswith=f"dup-{tag}:").count()
    }
    return results


# --- recompute ---------------------------------------------------------------------------


def ledger_fill(org_ids: list[int], days: int, per_day: int) -> tuple[int, object]:
    from django.db import connection
    from django.utils import timezone

    from billing import periods

    period = periods.period_of(timezone.now())
    start = timezone.now() - __import__("datetime").timedelta(days=days)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE billing_usageevent, billing_meter")
        cursor.execute(
            """
            INSERT INTO billing_usageevent (organization_id, metric, quantity, occurred_at, ingested_at, period, idempotency_key)
            SELECT o, m, CASE WHEN m = 'agent_seat' THEN 1 + (d + n) %% 10
                              WHEN m = 'storage_bytes' THEN 1000000 * (d + 1) ELSE 1 + n %% 5 END,
                   %s + make_interval(days => d, mins => n), %s + make_interval(days => d, mins => n), %s,
                   'r:' || o || ':' || m || ':' || d || ':' || n
            FROM unnest(%s::bigint[]) o,
                 unnest(ARRAY['message','conversation_started','api_call','agent_seat','storage_bytes']) m,
                 generate_series(0, %s - 1) d, generate_series(0, %s - 1) n
            """,
            [start, start, period, org_ids, days, per_day],
        )
        rows = cursor.rowcount
        cursor.execute("ANALYZE billing_usageevent")
    return rows, period


def bench_recompute(org_ids: list[int], days: int, per_day: int, repeats: int = 3) -> dict:
    from django.db import connection

    from billing import services
    from billing.models import Meter, UsageEvent

    fill_start = time.perf_counter()
    rows, period = ledger_fill(org_ids, days, per_day)
    fill_s = time.perf_counter() - fill_start
    print(f"  ledger: {rows:,} events for {len(org_ids)} organizations × {days} days ({fill_s:.1f} s to fill)", flush=True)
    plain, batch = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT organization_id, metric, sum(quantity), max(quantity), count(*) FROM billing_usageevent "
                "WHERE period = %s GROUP BY organization_id, metric", [period])
            aggregated = len(cursor.fetchall())
        plain.append(time.perf_counter() - start)
        start = time.perf_counter()
        meters = services.meters_recompute(period=period)
        batch.append(time.perf_counter() - start)
    per_org_start = time.perf_counter()
    for org_id in org_ids:
        services.meters_recompute(period=period, organization_ids=[org_id])
    per_org = time.perf_counter() - per_org_start
    # recompute equals the ledger
    from django.db.models import Sum

    check_org = org_ids[len(org_ids) // 2]
    meter = Meter.objects.get(organization_id=check_org, metric="message", period=period)
    truth = UsageEvent.objects.filter(organization_id=check_org, metric="message", period=period).aggregate(s=Sum("quantity"))["s"]
    return {
        "events": rows, "organizations": len(org_ids), "days": days, "meters": meters, "groups": aggregated,
        "plain_aggregate_s": round(min(plain), 3), "meters_recompute_s": round(min(batch), 3),
        "per_organization_s": round(per_org, 3), "ratio_recompute_over_plain": round(min(batch) / min(plain), 2),
        "meter_equals_ledger": meter.value == truth,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=4)
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()

    url = source_database_url()
    bench_url = with_database(url, BENCH_DB)
    load_before = os.getloadavg()
    database_recreate(url, BENCH_DB)
    try:
        django_setup(bench_url, args.redis_db)
        migrate_public()
        from django.core.cache import caches

        caches["shared"].clear()
        org_ids = organizations_create(args.orgs, uuid.uuid4().hex[:4])
        print(f"ingestion ({args.events:,} events per way):", flush=True)
        ingestion = bench_ingestion(org_ids[:50], args.events, bench_url, args.redis_db)
        print("recompute:", flush=True)
        recompute = bench_recompute(org_ids, args.days, args.per_day)
        caches["shared"].clear()
        from django.db import connections

        connections.close_all()
    finally:
        database_drop(url, BENCH_DB)

    lines = ["", "Ledger ingestion (events/s)", f"{'way':<34}{'1 writer':>12}{f'{WRITERS} writers':>12}"]
    labels = {"record": "meters.record (1/txn)", "plain": "plain INSERT (1/txn)",
              "record_many": f"meters.record_many ({BATCH}/call)", "plain_batch": f"plain multi-row INSERT ({BATCH})"}
    for way, label in labels.items():
        lines.append(f"{label:<34}{ingestion[f'{way}/1']['events_per_s']:>12,}{ingestion[f'{way}/{WRITERS}']['events_per_s']:>12,}")
    r1 = ingestion["record/1"]["events_per_s"] / ingestion["plain/1"]["events_per_s"]
    rm = ingestion["record_many/1"]["events_per_s"] / ingestion["plain_batch/1"]["events_per_s"]
    lines.append(f"record / plain: {r1:.2f} (1 per txn), {rm:.2f} (batched)")
    dup = ingestion["duplicates_check"]
    lines.append(f"same {dup['keys']} keys from {dup['writers']} writers -> {dup['rows']} rows")
    best = max(ingestion[f"record_many/{WRITERS}"]["events_per_s"], ingestion["record_many/1"]["events_per_s"])
    lines.append(f"aim >= {AIM_EVENTS_PER_S:,} events/s (batched): {best:,} {'PASS' if best >= AIM_EVENTS_PER_S else 'MISS'}")
    lines += ["", f"Meter recompute ({recompute['organizations']:,} organizations × {recompute['days']} days, "
                  f"{recompute['events']:,} events, {recompute['meters']:,} meters)",
              f"{'way':<44}{'seconds':>10}",
              f"{'plain aggregate (SELECT … GROUP BY)':<44}{recompute['plain_aggregate_s']:>10.3f}",
              f"{'services.meters_recompute (all, one upsert)':<44}{recompute['meters_recompute_s']:>10.3f}",
              f"{'per organization (1,000 × meters_recompute)':<44}{recompute['per_organization_s']:>10.3f}",
              f"recompute / plain: {recompute['ratio_recompute_over_plain']}; meter equals ledger: {recompute['meter_equals_ledger']}",
              f"aim <= {AIM_RECOMPUTE_S} s: {'PASS' if recompute['meters_recompute_s'] <= AIM_RECOMPUTE_S else 'MISS'}",
              f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; {os.cpu_count()} cpus"]
    print("\n".join(lines))
    write_json(args.json, {
        "ingestion": ingestion, "recompute": recompute,
        "meta": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_before": load_before,
                 "load_after": os.getloadavg(), "argv": sys.argv[1:]},
    })
    print(f"JSON: {args.json}")


if __name__ == "__main__":
    main()
