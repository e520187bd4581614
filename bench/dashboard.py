"""Benchmark: the operator's dashboard (the admin index) against Django's stock admin index,
with 100 and then 1,000 tenants and 12 months of daily snapshots.

    .venv/bin/python bench/dashboard.py [--tenants 1000] [--small 100] [--requests 200] [--json bench/results/dashboard.json]

Runs on its own database (`orbit_bench_dashboard_<pid>`, on the server of DATABASE_URL, dropped
before and after; public schema only — the dashboard reads public tables, so the organizations
are plain rows with a schema name and no schema) and its own Redis logical database.

Setup per scale: organizations (a tenth partners with clients, holdings, trials, suspended,
cancelled), their subscriptions, 364 days of synthetic snapshot rows per organization
(`OrganizationDay`) and their platform days (`PlatformDay`), then today's snapshot taken by the
real code (`tenants.dashboard.snapshots.snapshots_refresh`, timed).

Timed, in-process with Django's test client logged in as an operator (the whole middleware
stack, templates included), interleaved so that drift hits every way alike:

  stock           GET /admin/ with Django's own admin index template (the app list)
  dashboard       GET /admin/ (this month)
  dashboard 12m   GET /admin/?period=last-12-months

Queries per page are counted (CaptureQueriesContext) at each scale.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for bench._common

from bench._common import (  # noqa: E402
    RESULTS,
    bench_database_name,
    own_database,
    percentile,
    write_json,
)

BENCH_DB = bench_database_name("orbit_bench_dashboard")
DEFAULT_JSON = RESULTS / "dashboard.json"
AIM_P95_MS = 150
AIM_QUERIES = 20
HISTORY_DAYS = 364
OPERATOR = "bench-ops@orbit.example.com"

# Django 5.2's own admin/index.html (what Orbit's index was before the dashboard).
STOCK_INDEX = """{% extends "admin/base_site.html" %}
{% load i18n static %}
{% block extrastyle %}{{ block.super }}<link rel="stylesheet" href="{% static "admin/css/dashboard.css" %}">{% endblock %}
{% block coltype %}colMS{% endblock %}
{% block bodyclass %}{{ block.super }} dashboard{% endblock %}
{% block nav-breadcrumbs %}{% endblock %}
{% block nav-sidebar %}{% endblock %}
{% block content %}
<div id="content-main">
  {% include "admin/app_list.html" with app_list=app_list show_changelinks=True %}
</div>
{% endblock %}
{% block sidebar %}
<div id="content-related">
    <div class="module" id="recent-actions-module">
        <h2>{% translate 'Recent actions' %}</h2>
        <h3>{% translate 'My actions' %}</h3>
            {% load log %}
            {% get_admin_log 10 as admin_log for_user user %}
            {% if not admin_log %}<p>{% translate 'None available' %}</p>{% else %}
            <ul class="actionlist">{% for entry in admin_log %}<li>{{ entry.object_repr }}</li>{% endfor %}</ul>
            {% endif %}
    </div>
</div>
{% endblock %}
"""


def stock_template_dir() -> str:
    folder = Path(tempfile.mkdtemp(prefix="orbit-bench-dashboard-"))
    (folder / "admin").mkdir()
    (folder / "admin" / "stock_index.html").write_text(STOCK_INDEX)
    return str(folder)



def add_organizations(*, count: int, start: int, run_id: str, rng: random.Random) -> list[int]:
    """`count` organizations and their subscriptions; returns their ids."""
    from django.utils import timezone
    from django_tenants.utils import get_tenant_model

    from billing import periods
    from billing.models import PartnerPricing, Plan, Subscription

    Organization = get_tenant_model()
    plans = {p.code: p for p in Plan.objects.all()}
    now = timezone.now()
    partners_n = max(1, count // 20)
    partners = Organization.objects.bulk_create([
        Organization(schema_name=f"d{run_id}_{start + i:05d}", name=f"Parceiro {start + i}", slug=f"d{run_id}-{start + i:05d}",
                     plan=plans["white-label"], status="active", kind="partner") for i in range(partners_n)])
    rows = []
    for i in range(partners_n, count):
        n = start + i
        status = rng.choices(["active", "trial", "past_due", "suspended", "cancelled"], [80, 8, 4, 3, 5])[0]
        kind = "holding" if rng.random() < 0.02 else "company"
        parent = partners[i % partners_n].pk if kind == "company" and rng.random() < 0.3 else None
        rows.append(Organization(schema_name=f"d{run_id}_{n:05d}", name=f"Empresa {n}", slug=f"d{run_id}-{n:05d}",
                                 plan=plans[rng.choice(["starter", "professional", "business"])], status=status,
                                 kind=kind, parent_id=parent))
    Organization.objects.bulk_create(rows, batch_size=1000)
    made = list(Organization.objects.filter(slug__startswith=f"d{run_id}-").exclude(
        pk__in=Subscription.objects.values("organization_id")).select_related("plan"))
    period = periods.period_of(now)
    status_map = {"trial": "trialing", "past_due": "past_due", "suspended": "suspended", "cancelled": "cancelled"}
    Subscription.objects.bulk_create([
        Subscription(organization=o, plan=o.plan, cycle="monthly", status=status_map.get(o.status, "active"),
                     current_period_start=period, current_period_end=periods.next_period(period)) for o in made],
        batch_size=1000)
    PartnerPricing.objects.bulk_create([PartnerPricing(partner=p) for p in partners], ignore_conflicts=True)
    Organization.objects.filter(pk__in=[o.pk for o in made]).update(created_at=now - __import__("datetime").timedelta(days=400))
    return [o.pk for o in made]


def history(organization_ids: list[int]) -> None:
    """364 days of organization rows (synthetic, SQL), then every platform day re-aggregated."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tenants_organizationday (day, organization_id, name, slug, kind, status, parent_id, payer_id,
                plan_code, cycle, subscription_status, mrr, ever_paid, created_on, limit_percent, messages,
                conversations, visitors, active_agents, captured_at, usage_at)
            SELECT d::date, o.id, o.name, o.slug, o.kind, o.status, o.parent_id, coalesce(o.parent_id, o.id), p.code,
                   'monthly', 'active',
                   CASE WHEN o.status IN ('active', 'past_due') AND random() > 0.03 THEN coalesce(p.price_monthly, 0)
                        ELSE 0 END,
                   true, (o.created_at AT TIME ZONE 'America/Sao_Paulo')::date, (random() * 110)::int,
                   (random() * 900)::int, (random() * 60)::int, (random() * 45)::int, (random() * 6)::int, now(), now()
            FROM tenants_organization o JOIN billing_plan p ON p.id = o.plan_id
            CROSS JOIN generate_series(current_date - %s, current_date - 1, interval '1 day') d
            WHERE o.id = ANY(%s)
            """,
            [HISTORY_DAYS, organization_ids],
        )
        cursor.execute("DELETE FROM tenants_platformday")
        cursor.execute(
            """
            INSERT INTO tenants_platformday (day, tenants, by_status, by_kind, new_tenants, churned_tenants,
                trials_started, trials_converted, trials_lost, messages, conversations, visitors, active_agents_1d,
                active_agents_7d, active_agents_30d, mrr, customers, mrr_new, mrr_expansion, mrr_contraction,
                mrr_churn, mrr_reactivation, customers_new, customers_churned, customers_reactivated, near_limit,
                at_limit, computed_at)
            SELECT day, count(*),
                   jsonb_build_object('active', count(*) FILTER (WHERE status = 'active'),
                                      'trial', count(*) FILTER (WHERE status = 'trial'),
                                      'past_due', count(*) FILTER (WHERE status = 'past_due'),
                                      'suspended', count(*) FILTER (WHERE status = 'suspended'),
                                      'cancelled', count(*) FILTER (WHERE status = 'cancelled')),
                   jsonb_build_object('company', count(*) FILTER (WHERE kind = 'company'),
                                      'partner', count(*) FILTER (WHERE kind = 'partner'),
                                      'holding', count(*) FILTER (WHERE kind = 'holding')),
                   (random() * 5)::int, (random() * 2)::int, (random() * 4)::int, (random() * 2)::int,
                   (random() * 2)::int, sum(messages), sum(conversations), sum(visitors), sum(active_agents),
                   sum(active_agents) * 2, sum(active_agents) * 3, sum(mrr), count(*) FILTER (WHERE mrr > 0),
                   (random() * 2000)::numeric(14, 2), (random() * 1500)::numeric(14, 2),
                   (random() * 800)::numeric(14, 2), (random() * 1200)::numeric(14, 2), (random() * 300)::numeric(14, 2),
                   (random() * 4)::int, (random() * 3)::int, (random() * 1)::int,
                   count(*) FILTER (WHERE limit_percent >= 80), count(*) FILTER (WHERE limit_percent >= 100), now()
            FROM tenants_organizationday GROUP BY day
            """
        )


def timed_get(client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (path, response.status_code)
    return elapsed


def queries(client, path: str, *, stock: bool) -> int:
    from django.contrib import admin
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin.site.index_template = "admin/stock_index.html" if stock else None
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def measure(client, *, requests: int) -> dict:
    from django.contrib import admin

    ways = {"stock": ("/admin/", True), "dashboard": ("/admin/", False),
            "dashboard_12m": ("/admin/?period=last-12-months", False)}
    for path, stock in ways.values():  # warm-up
        admin.site.index_template = "admin/stock_index.html" if stock else None
        for _ in range(5):
            timed_get(client, path)
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(requests):
        for name, (path, stock) in ways.items():
            admin.site.index_template = "admin/stock_index.html" if stock else None
            samples[name].append(timed_get(client, path))
    admin.site.index_template = None
    result = {}
    for name, values in samples.items():
        path, stock = ways[name]
        result[name] = {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1),
                        "max": round(max(values), 1), "mean": round(statistics.mean(values), 1), "n": len(values),
                        "queries": queries(client, path, stock=stock)}
    return result


def scale(client, *, tenants: int, requests: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from billing import periods
    from tenants.dashboard.snapshots import snapshots_refresh

    start = time.perf_counter()
    snapshots_refresh(days=[periods.localdate(timezone.now())])
    snapshot_s = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenants_organizationday")
        org_rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM tenants_platformday")
        platform_rows = cursor.fetchone()[0]
    print(f"{tenants:,} tenants: {org_rows:,} organization-day rows, {platform_rows} platform days; "
          f"today's snapshot {snapshot_s:.2f} s", flush=True)
    result = measure(client, requests=requests)
    return {"tenants": tenants, "organization_day_rows": org_rows, "platform_days": platform_rows,
            "snapshot_today_s": round(snapshot_s, 3), "pages": result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per way and scale")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()

    load_before = os.getloadavg()
    templates = stock_template_dir()
    scales = []

    def bench_settings(bench_url: str) -> None:
        from django.conf import settings

        from bench._common import settings_use_redis_db

        os.environ["DATABASE_URL"] = bench_url
        os.environ["ORBIT_DASHBOARD_ACTIVITY_FLUSH_SECONDS"] = "-1"
        os.environ["ORBIT_2FA_OPERATORS"] = "0"  # the bench logs its operator in with force_login
        settings_use_redis_db(args.redis_db)
        settings.TEMPLATES[0]["DIRS"] = [templates, *settings.TEMPLATES[0]["DIRS"]]
        settings.ALLOWED_HOSTS = ["*"]

    with own_database(BENCH_DB, redis_db=args.redis_db, before_setup=bench_settings):
        from django.contrib.auth import get_user_model
        from django.test import Client

        get_user_model().objects.create_superuser(OPERATOR, "bench-senha-forte-1")
        client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="pt-br")
        client.force_login(get_user_model().objects.get(email=OPERATOR))

        rng = random.Random(14)
        run_id = uuid.uuid4().hex[:4]
        ids = add_organizations(count=args.small, start=0, run_id=run_id, rng=rng)
        history(ids)
        scales.append(scale(client, tenants=len(ids), requests=args.requests))
        more = add_organizations(count=args.tenants - args.small, start=args.small, run_id=run_id, rng=rng)
        history(more)
        scales.append(scale(client, tenants=len(ids) + len(more), requests=args.requests))

    lines = ["", f"Operator dashboard (admin index) vs Django's stock admin index; {args.requests} requests per way, "
                 f"interleaved; ms",
             f"{'tenants':>8}  {'page':<28}{'p50':>8}{'p95':>8}{'max':>8}{'queries':>9}"]
    names = {"stock": "stock admin index", "dashboard": "dashboard (this month)",
             "dashboard_12m": "dashboard (last 12 months)"}
    for s in scales:
        for key, label in names.items():
            page = s["pages"][key]
            lines.append(f"{s['tenants']:>8,}  {label:<28}{page['p50']:>8.1f}{page['p95']:>8.1f}{page['max']:>8.1f}"
                         f"{page['queries']:>9}")
    worst_p95 = max(s["pages"][k]["p95"] for s in scales for k in ("dashboard", "dashboard_12m"))
    worst_q = max(s["pages"][k]["queries"] for s in scales for k in ("dashboard", "dashboard_12m"))
    same_queries = len({s["pages"]["dashboard"]["queries"] for s in scales}) == 1
    lines += [
        "snapshot of today (snapshots_refresh, real code): " + ", ".join(
            f"{s['tenants']:,} tenants {s['snapshot_today_s']:.2f} s" for s in scales),
        f"aim p95 <= {AIM_P95_MS} ms: {'PASS' if worst_p95 <= AIM_P95_MS else 'MISS'} (worst {worst_p95:.1f}); "
        f"aim <= {AIM_QUERIES} queries whatever the tenants: "
        f"{'PASS' if worst_q <= AIM_QUERIES and same_queries else 'MISS'} (worst {worst_q})",
        f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; {os.cpu_count()} cpus",
    ]
    print("\n".join(lines))
    write_json(args.json, {"scales": scales, "aims": {"p95_ms": AIM_P95_MS, "queries": AIM_QUERIES},
                           "meta": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                    "load_before": load_before, "load_after": os.getloadavg(), "argv": sys.argv[1:]}})
    print(f"JSON: {args.json}")


if __name__ == "__main__":
    main()
