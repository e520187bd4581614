"""Benchmark: creating organizations three ways, and what tenant routing costs a request.

    .venv/bin/python bench/provisioning.py [--count 100] [--json bench/results/provisioning.json]

Runs on its own database (`orbit_bench_<pid>`, on the server of DATABASE_URL, dropped before
and after) and on its own Redis logical database (--redis-db), so dev data, the dev cache
and the dev Celery queue are never touched. Compares ways within one run (ratios); the
aims printed next to the figures are informative, never assertions.

Provisioning (N organizations per way, interleaved a/b/c so drift hits all three alike;
each one starts on a fresh connection, as a request with CONN_MAX_AGE=0 would):
  a) migrations  — django-tenants' default: CREATE SCHEMA + migrate_schemas for the schema,
                   plugged into organization_create in place of the clone, so the rows,
                   domains and owner around it are the same as b and c.
  b) clone       — organization_create(use_pool=False): template clone.
  c) warm pool   — organization_create(use_pool=True) from a pool refilled beforehand,
                   outside the timing: a rename.
"e2e" is organization_create end to end; "schema" is its schema step alone (migrations,
provisioning.schema_clone, or provisioning.pool_take + schema_rename).

Routing: TenantRoutingMiddleware around a trivial view, on a tenant host (cache warm)
and on the platform host, against the trivial view called directly; plus the number of
database queries on a cache hit (should be 0) and a miss.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for bench._common

from bench._common import (  # noqa: E402
    RESULTS,
    admin_connection,  # noqa: F401 (imported from here by older scripts)
    bench_database_name,
    database_drop,
    database_recreate,
    django_setup,
    percentile,
    redis_cleanup,
    source_database_url,
    with_database,
    write_json,
)

BENCH_DB = bench_database_name("orbit_bench")
DEFAULT_JSON = RESULTS / "provisioning.json"

AIM_POOL_P95_MS = 50.0
AIM_CLONE_P95_MS = 1000.0
AIM_POOL_VS_MIGRATIONS = 20.0

WAYS = [
    ("migrations", "a) migrations (default)"),
    ("clone", "b) template clone"),
    ("pool", "c) warm pool (rename)"),
]


# --- figures ---------------------------------------------------------------------------


def summary(seconds: list[float], scale: float) -> dict:
    values = [s * scale for s in seconds]
    return {
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "max": round(max(values), 3) if values else None,
        "n": len(values),
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 1) if b else None


# --- provisioning ---------------------------------------------------------------------


class StepTimer:
    """Wraps a function so the time spent in it adds up, per organization."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.elapsed += time.perf_counter() - start

        return timed


def schema_migrate(schema_name: str) -> None:
    """What django-tenants does for a new tenant (TenantMixin.create_schema)."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(schema_name)}")
    call_command("migrate_schemas", schema_name=schema_name, tenant=True, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def fresh_connection() -> None:
    """Start the next organization on a new connection (as a request would), untimed."""
    from django.db import connection

    connection.close()
    connection.ensure_connection()
    connection.set_schema_to_public()


def create_one(way: str, slug: str, plan, pool_misses: list[str]) -> tuple[float, float, float, object]:
    """One organization_create: (end to end, schema step, Celery enqueue after commit) seconds."""
    from tenants import provisioning
    from tenants.services import organization_create
    from tenants.services import organizations as services

    step = StepTimer()
    enqueue = StepTimer()
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(services, "_enqueue_pool_refill", enqueue.wrap(services._enqueue_pool_refill)))
        if way == "migrations":
            stack.enter_context(mock.patch.object(provisioning, "schema_clone", step.wrap(schema_migrate)))
        elif way == "clone":
            stack.enter_context(mock.patch.object(provisioning, "schema_clone", step.wrap(provisioning.schema_clone)))
        else:
            real_take = provisioning.pool_take

            def take():
                name = real_take()
                if name is None:
                    pool_misses.append(slug)
                return name

            stack.enter_context(mock.patch.object(provisioning, "pool_take", step.wrap(take)))
            stack.enter_context(mock.patch.object(provisioning, "schema_rename", step.wrap(provisioning.schema_rename)))
            # A miss would fall back to a clone: time it as the schema step too, and count it.
            stack.enter_context(mock.patch.object(provisioning, "schema_clone", step.wrap(provisioning.schema_clone)))
        fresh_connection()
        start = time.perf_counter()
        organization = organization_create(name=f"Bench {slug}", slug=slug, plan=plan, use_pool=(way == "pool"))
        total = time.perf_counter() - start
    return total, step.elapsed, enqueue.elapsed, organization


def bench_provisioning(count: int, run_id: str) -> dict:
    from django.db import connection

    from billing.models import Plan
    from tenants import provisioning
    from tenants.models import PoolSchema

    plan = Plan.objects.order_by("id").first()
    if plan is None:
        raise SystemExit("no billing plan in the bench database (billing's data migration should have made some)")

    started = time.perf_counter()
    provisioning.pool_empty()
    added = provisioning.pool_refill(size=count + 1)  # + 1 for the warm-up
    refill_s = time.perf_counter() - started
    print(f"pool refill (setup, untimed): {added} clones in {refill_s:.1f} s ({refill_s / max(added, 1) * 1000:.0f} ms each)")

    e2e = {w: [] for w, _ in WAYS}
    step = {w: [] for w, _ in WAYS}
    enqueue: list[float] = []
    organizations = {w: [] for w, _ in WAYS}
    pool_misses: list[str] = []
    # One untimed organization per way first: imports, the migration loader, the Celery
    # broker connection and PostgreSQL's caches are then warm for all three alike.
    for way, _label in WAYS:
        _t, _s, _q, organization = create_one(way, f"b{run_id}-{way[:3]}-warm", plan, pool_misses)
        organizations[way].append(organization)
    for i in range(count):
        for way, _label in WAYS:
            slug = f"b{run_id}-{way[:3]}-{i:04d}"
            total, schema_s, enqueue_s, organization = create_one(way, slug, plan, pool_misses)
            e2e[way].append(total)
            step[way].append(schema_s)
            if way == "pool":
                enqueue.append(enqueue_s)
            organizations[way].append(organization)
        if (i + 1) % 10 == 0 or i + 1 == count:
            print(
                f"  {i + 1}/{count}: last migrations {e2e['migrations'][-1] * 1000:.0f} ms, "
                f"clone {e2e['clone'][-1] * 1000:.0f} ms, pool {e2e['pool'][-1] * 1000:.1f} ms",
                flush=True,
            )
    connection.set_schema_to_public()

    # Every way must give the schema the template has, names included.
    template = provisioning.template_schema_name()
    reference = provisioning.catalogue(template)
    catalogue_match = {
        way: all(provisioning.catalogue(o.schema_name) == reference for o in (orgs[0], orgs[-1]))
        for way, orgs in organizations.items()
    }
    return {
        "e2e": e2e,
        "step": step,
        "enqueue": enqueue,
        "organizations": organizations,
        "pool_refill": {"added": added, "seconds": round(refill_s, 2)},
        "pool_misses": len(pool_misses),
        "pool_left": PoolSchema.objects.count(),
        "catalogue_matches_template": catalogue_match,
    }


# --- routing --------------------------------------------------------------------------


def bench_resolution(count: int, tenant_host: str) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from tenants.middleware import TenantRoutingMiddleware
    from tenants.routing import invalidate_hosts

    def view(request):
        return HttpResponse("ok")

    middleware = TenantRoutingMiddleware(get_response=view)
    factory = RequestFactory()
    platform_host = settings.ORBIT_BASE_DOMAIN

    invalidate_hosts([tenant_host])
    with CaptureQueriesContext(connection) as miss:
        response = middleware(factory.get("/", HTTP_HOST=tenant_host))
    assert response.status_code == 200, response.status_code
    hits = 100
    with CaptureQueriesContext(connection) as hit:
        for _ in range(hits):
            middleware(factory.get("/", HTTP_HOST=tenant_host))
    with CaptureQueriesContext(connection) as plat:
        middleware(factory.get("/", HTTP_HOST=platform_host))

    cases = {
        "baseline": (view, platform_host),
        "platform": (middleware, platform_host),
        "tenant": (middleware, tenant_host),
    }
    timings = {name: [] for name in cases}
    for _ in range(200):  # warm-up
        for fn, host in cases.values():
            fn(factory.get("/", HTTP_HOST=host))
    for _ in range(count):
        for name, (fn, host) in cases.items():
            request = factory.get("/", HTTP_HOST=host)
            start = time.perf_counter()
            fn(request)
            timings[name].append(time.perf_counter() - start)

    result = {name: summary(values, 1e6) for name, values in timings.items()}
    base = result["baseline"]
    return {
        "unit": "us",
        "tenant_host": tenant_host,
        "platform_host": platform_host,
        **result,
        "added_tenant_p50": round(result["tenant"]["p50"] - base["p50"], 1),
        "added_tenant_p95": round(result["tenant"]["p95"] - base["p95"], 1),
        "added_platform_p50": round(result["platform"]["p50"] - base["p50"], 1),
        "added_platform_p95": round(result["platform"]["p95"] - base["p95"], 1),
        "queries_cache_hit": len(hit.captured_queries) / hits,
        "queries_cache_miss": len(miss.captured_queries),
        "queries_platform": len(plat.captured_queries),
    }


# --- report ---------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(count: int, prov: dict, res: dict, meta: dict) -> tuple[str, dict]:
    ways = {
        way: {
            "e2e_ms": summary(prov["e2e"][way], 1000),
            "schema_ms": summary(prov["step"][way], 1000),
            # everything but the schema step: validation, rows, domains, owner, commit hooks
            "rest_ms": summary([e - s for e, s in zip(prov["e2e"][way], prov["step"][way], strict=True)], 1000),
        }
        for way, _ in WAYS
    }
    enqueue = summary(prov["enqueue"], 1000)
    p95 = {way: ways[way]["e2e_ms"]["p95"] for way in ways}
    s95 = {way: ways[way]["schema_ms"]["p95"] for way in ways}
    ratios = {
        "migrations_over_pool_p95": ratio(p95["migrations"], p95["pool"]),
        "clone_over_pool_p95": ratio(p95["clone"], p95["pool"]),
        "migrations_over_clone_p95": ratio(p95["migrations"], p95["clone"]),
        "schema_migrations_over_pool_p95": ratio(s95["migrations"], s95["pool"]),
        "schema_clone_over_pool_p95": ratio(s95["clone"], s95["pool"]),
        "schema_migrations_over_clone_p95": ratio(s95["migrations"], s95["clone"]),
    }
    aims = {
        "pool_p95_le_50ms": {"value": p95["pool"], "aim": AIM_POOL_P95_MS, "pass": p95["pool"] <= AIM_POOL_P95_MS},
        "clone_p95_le_1s": {"value": p95["clone"], "aim": AIM_CLONE_P95_MS, "pass": p95["clone"] <= AIM_CLONE_P95_MS},
        "pool_20x_faster_than_migrations": {
            "value": ratios["migrations_over_pool_p95"],
            "aim": AIM_POOL_VS_MIGRATIONS,
            "pass": (ratios["migrations_over_pool_p95"] or 0) >= AIM_POOL_VS_MIGRATIONS,
        },
    }

    lines = []
    out = lines.append
    out("")
    out(f"Provisioning: {count} organizations per way, ms per organization")
    out("  e2e = organization_create end to end; schema = its schema step only")
    header = (
        f"{'way':<26}{'e2e p50':>9}{'e2e p95':>9}{'e2e max':>9}  {'schema p50':>10}{'schema p95':>11}"
        f"{'schema max':>11}  {'rest p50':>8}{'n':>5}"
    )
    out(header)
    out("-" * len(header))
    for way, label in WAYS:
        e, s = ways[way]["e2e_ms"], ways[way]["schema_ms"]
        out(
            f"{label:<26}{e['p50']:>9.1f}{e['p95']:>9.1f}{e['max']:>9.1f}  "
            f"{s['p50']:>10.1f}{s['p95']:>11.1f}{s['max']:>11.1f}  {ways[way]['rest_ms']['p50']:>8.1f}{e['n']:>5}"
        )
    out("  rest = e2e - schema: validation, rows, domains, owner, commit, on-commit hooks")
    out(
        f"  of which the pool refill enqueue (Celery, after commit, pool way): p50 {enqueue['p50']:.1f} "
        f"p95 {enqueue['p95']:.1f} ms"
    )
    out("")
    out("Ratios (p95)                     e2e    schema")
    out(f"  migrations / pool          {ratios['migrations_over_pool_p95']:>8}x {ratios['schema_migrations_over_pool_p95']:>8}x")
    out(f"  clone / pool               {ratios['clone_over_pool_p95']:>8}x {ratios['schema_clone_over_pool_p95']:>8}x")
    out(f"  migrations / clone         {ratios['migrations_over_clone_p95']:>8}x {ratios['schema_migrations_over_clone_p95']:>8}x")
    out("")
    out("Aims (informative)")
    out(f"  warm pool p95 <= {AIM_POOL_P95_MS:.0f} ms          {p95['pool']:>9.1f} ms   {verdict(aims['pool_p95_le_50ms']['pass'])}")
    out(f"  clone p95 <= {AIM_CLONE_P95_MS / 1000:.0f} s               {p95['clone']:>9.1f} ms   {verdict(aims['clone_p95_le_1s']['pass'])}")
    out(
        f"  pool >= {AIM_POOL_VS_MIGRATIONS:.0f}x faster than migrations {ratios['migrations_over_pool_p95']:>8}x     "
        f"{verdict(aims['pool_20x_faster_than_migrations']['pass'])}"
    )
    out("")
    out(
        f"Checks: pool misses (fell back to a clone) {prov['pool_misses']}; pool left {prov['pool_left']}; "
        "catalogue = template: "
        + ", ".join(f"{w} {'yes' if ok else 'NO'}" for w, ok in prov["catalogue_matches_template"].items())
    )
    out("")
    out(f"Tenant resolution: {res['baseline']['n']} requests per case, us per request (RequestFactory, middleware only)")
    header = f"{'case':<44}{'p50':>8}{'p95':>8}{'max':>9}{'+p50':>8}{'+p95':>8}"
    out(header)
    out("-" * len(header))
    rows = [
        ("baseline: trivial view, no middleware", "baseline", None),
        (f"platform host ({res['platform_host']})", "platform", "platform"),
        ("tenant host, cache hit", "tenant", "tenant"),
    ]
    for label, key, added in rows:
        r = res[key]
        extra = (
            f"{res[f'added_{added}_p50']:>8.1f}{res[f'added_{added}_p95']:>8.1f}" if added else f"{'':>8}{'':>8}"
        )
        out(f"{label:<44}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['max']:>9.1f}{extra}")
    out(
        f"DB queries per request: tenant cache hit {res['queries_cache_hit']:g} "
        f"({verdict(res['queries_cache_hit'] == 0)}: must be 0), cache miss {res['queries_cache_miss']}, "
        f"platform host {res['queries_platform']}"
    )

    results = {
        "meta": meta,
        "provisioning": {
            "count": count,
            "ways": ways,
            "ratios": ratios,
            "aims": aims,
            "pool_refill": prov["pool_refill"],
            "pool_enqueue_ms": enqueue,
            "pool_misses": prov["pool_misses"],
            "catalogue_matches_template": prov["catalogue_matches_template"],
        },
        "resolution": res,
    }
    return "\n".join(lines), results


# --- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="organizations per way (default 100)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per routing case (default 2000)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    parser.add_argument("--redis-db", type=int, default=9, help="Redis logical database for the bench (default 9)")
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")

    source_url = source_database_url()
    bench_url = with_database(source_url, BENCH_DB)
    run_id = uuid.uuid4().hex[:6]
    load_before = os.getloadavg()
    hosts: list[str] = []
    print(f"creating database {BENCH_DB} (Redis db {args.redis_db}) ...", flush=True)
    database_recreate(source_url, BENCH_DB)
    try:
        django_setup(bench_url, args.redis_db, celery=True)
        from django.core.management import call_command
        from django.db import connections

        started = time.perf_counter()
        call_command("migrate_schemas", interactive=False, verbosity=0)
        print(f"migrate_schemas (public + template): {time.perf_counter() - started:.1f} s", flush=True)

        try:
            prov = bench_provisioning(args.count, run_id)
            hosts = [d.domain for orgs in prov["organizations"].values() for o in orgs for d in o.domains.all()]
            tenant_host = prov["organizations"]["pool"][0].get_primary_domain().domain
            res = bench_resolution(args.requests, tenant_host)
        finally:
            redis_cleanup(args.redis_db, hosts)
            connections.close_all()

        import django
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        connections.close_all()
        meta = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version(),
            "django": django.get_version(),
            "postgresql": pg_version,
            "cpus": os.cpu_count(),
            "count": args.count,
            "requests": args.requests,
            "fresh_connection_per_organization": True,
            "loadavg_1m_before": round(load_before[0], 2),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        }
        text, results = report(args.count, prov, res, meta)
        print(text)
        print(
            f"\nload average (1 min) before {meta['loadavg_1m_before']}, after {meta['loadavg_1m_after']} "
            f"on {meta['cpus']} CPUs: compare the ratios, not the absolute times"
        )
        write_json(args.json, results)
        print(f"\nresults written to {args.json}")
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up if the database could not be created
            pass
        database_drop(source_url, BENCH_DB)
        print(f"dropped database {BENCH_DB}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
