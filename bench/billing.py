"""Benchmark: closing a billing period for 1,000 organizations, against a plain INSERT of
the same rows, and a rerun of the close.

    .venv/bin/python bench/billing.py [--orgs 1000] [--partners 10] [--clients 100] [--json bench/results/billing.json]

Runs on its own database (`orbit_bench_billing_<pid>`, on the server of DATABASE_URL, dropped
before and after; public schema only — the close reads public tables, so the organizations
are plain rows with a schema name and no schema) and its own Redis logical database.

Setup: --orgs organizations, of which --partners partners (White-Label) with --clients
clients among them (their invoices are the partner's, at its retail prices; the partners get
one wholesale invoice each), the rest direct customers on Starter/Professional/Business;
every one with last month's final meters (conversations, storage, seats; a third beyond
their quota), a tenth with prepaid credit, a twentieth with an add-on.

  close     billing.services.period_close(period=last month): one transaction per
            organization (row lock, invoice, lines, credit use, number, notice, term renewed)
  plain     the same invoice and line rows INSERTed into tables of the same shape (no
            constraint but the primary key), one transaction per organization
  rerun     period_close again: must write nothing
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for bench._common

from bench._common import RESULTS, bench_database_name, own_database, write_json  # noqa: E402

BENCH_DB = bench_database_name("orbit_bench_billing")
DEFAULT_JSON = RESULTS / "billing.json"
AIM_CLOSE_S = 60
AIM_RERUN_S = 5
GB = 1024**3


def populate(*, orgs: int, partners: int, clients: int, run_id: str) -> dict:
    """Organizations, subscriptions whose term ends with last month, and final meters."""
    from decimal import Decimal

    from django.utils import timezone
    from django_tenants.utils import get_tenant_model

    from billing import periods
    from billing.models import Adjustment, CreditEntry, Meter, PartnerPricing, Plan, Subscription

    rng = random.Random(7)
    Organization = get_tenant_model()
    plans = {p.code: p for p in Plan.objects.all()}
    last = periods.previous_period(periods.period_of(timezone.now()))
    created = periods.start(periods.previous_period(last))

    def org(i: int, kind: str, plan: str, parent_id=None):
        return Organization(schema_name=f"b{run_id}_{i:05d}", name=f"Bench {i}", slug=f"b{run_id}-{i:05d}",
                            plan=plans[plan], status="active", kind=kind, parent_id=parent_id)

    partner_rows = Organization.objects.bulk_create([org(i, "partner", "white-label") for i in range(partners)])
    rows = [org(partners + i, "company", rng.choice(["starter", "professional"]),
                parent_id=partner_rows[i % partners].pk) for i in range(clients)]
    rows += [org(partners + clients + i, "company", rng.choice(["starter", "professional", "business"]))
             for i in range(orgs - partners - clients)]
    Organization.objects.bulk_create(rows, batch_size=1000)
    everyone = list(Organization.objects.select_related("plan").order_by("id"))
    Organization.objects.update(created_at=created)
    PartnerPricing.objects.bulk_create([
        PartnerPricing(partner=p, wholesale_discount_percent=Decimal("35"),
                       retail_prices={"starter": "239.00", "professional": "599.00"}) for p in partner_rows])
    Subscription.objects.bulk_create([
        Subscription(organization=o, plan=o.plan, cycle="monthly", status="active", current_period_start=last,
                     current_period_end=periods.next_period(last)) for o in everyone], batch_size=1000)
    meters = []
    for o in everyone:
        plan = o.plan
        over = rng.random() < 0.33
        conversations = (plan.max_conversations_month or 10_000) * (rng.uniform(1.01, 1.3) if over else
                                                                     rng.uniform(0.1, 0.9))
        storage = (plan.storage_bytes or 50 * GB) * (rng.uniform(1.01, 1.2) if over else rng.uniform(0.05, 0.8))
        seats = (plan.max_agents or 10) + (rng.randint(1, 3) if over else -1)
        for metric, value in (("conversation_started", int(conversations)), ("storage_bytes", int(storage)),
                              ("agent_seat", max(1, seats)), ("message", int(conversations * 12))):
            meters.append(Meter(organization=o, metric=metric, period=last, state=periods.FINAL, value=value,
                                last_value=value, events=1))
    Meter.objects.bulk_create(meters, batch_size=2000)
    CreditEntry.objects.bulk_create([CreditEntry(organization=o, kind="grant", amount=Decimal("150.00"),
                                                 note="bench") for o in everyone[::10]])
    Adjustment.objects.bulk_create([Adjustment(organization=o, description="Add-on WhatsApp", amount=Decimal("49.90"))
                                    for o in everyone[::20]])
    return {"period": last, "organizations": len(everyone), "partners": partners, "clients": clients,
            "meters": len(meters)}


def plain_insert() -> float:
    """The rows the close wrote, INSERTed again into same-shaped tables, one transaction per
    organization (invoice row, then its lines in one multi-row INSERT)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_invoice (LIKE billing_invoice INCLUDING DEFAULTS)")
        cursor.execute("ALTER TABLE bench_invoice ADD PRIMARY KEY (id)")
        cursor.execute("CREATE TABLE bench_line (LIKE billing_invoiceline INCLUDING DEFAULTS)")
        cursor.execute("ALTER TABLE bench_line ADD PRIMARY KEY (id)")
        cursor.execute("SELECT * FROM billing_invoice ORDER BY id")
        invoice_cols = [c.name for c in cursor.description]
        invoices = cursor.fetchall()
        cursor.execute("SELECT * FROM billing_invoiceline ORDER BY invoice_id, id")
        line_cols = [c.name for c in cursor.description]
        lines: dict[int, list] = {}
        invoice_at = line_cols.index("invoice_id")
        for row in cursor.fetchall():
            lines.setdefault(row[invoice_at], []).append(row)
    invoice_sql = (f"INSERT INTO bench_invoice ({', '.join(invoice_cols)}) "
                   f"VALUES ({', '.join(['%s'] * len(invoice_cols))})")
    start = time.perf_counter()
    for invoice in invoices:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(invoice_sql, invoice)
            rows = lines.get(invoice[0], [])
            if rows:
                values = ", ".join(["(" + ", ".join(["%s"] * len(line_cols)) + ")"] * len(rows))
                cursor.execute(f"INSERT INTO bench_line ({', '.join(line_cols)}) VALUES {values}",
                               [v for row in rows for v in row])
    return time.perf_counter() - start


def counts() -> dict:
    from billing.models import BillingNotice, CreditEntry, Invoice, InvoiceLine

    return {"invoices": Invoice.objects.count(), "lines": InvoiceLine.objects.count(),
            "credit_entries": CreditEntry.objects.count(), "notices": BillingNotice.objects.count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--partners", type=int, default=10)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()

    load_before = os.getloadavg()
    with own_database(BENCH_DB, redis_db=args.redis_db):
        from billing import services
        from billing.models import Invoice, InvoiceSequence

        setup = populate(orgs=args.orgs, partners=args.partners, clients=args.clients,
                         run_id=uuid.uuid4().hex[:4])
        print(f"setup: {setup['organizations']:,} organizations ({setup['partners']} partners, "
              f"{setup['clients']} partner clients), {setup['meters']:,} final meters", flush=True)

        start = time.perf_counter()
        first = services.period_close(period=setup["period"])
        close_s = time.perf_counter() - start
        after_close = counts()
        print(f"close: {close_s:.2f} s", flush=True)

        start = time.perf_counter()
        rerun = services.period_close(period=setup["period"])
        rerun_s = time.perf_counter() - start
        after_rerun = counts()
        print(f"rerun: {rerun_s:.2f} s", flush=True)

        plain_s = plain_insert()
        print(f"plain: {plain_s:.2f} s", flush=True)

        sequences = {s.issuer: s.last_number for s in InvoiceSequence.objects.all()}
        gapless = all(
            sorted(Invoice.objects.filter(issuer=issuer).values_list("sequence", flat=True)) == list(range(1, n + 1))
            for issuer, n in sequences.items())
        wholesale = Invoice.objects.filter(lines__kind="wholesale").distinct().count()

    invoices = after_close["invoices"]
    new_rows = sum(after_rerun.values()) - sum(after_close.values())
    result = {
        "organizations": setup["organizations"], "invoices": invoices, "lines": after_close["lines"],
        "close_s": round(close_s, 3), "invoices_per_s": round(invoices / close_s, 1),
        "plain_s": round(plain_s, 3), "plain_rows_per_s": round(invoices / plain_s, 1),
        "close_over_plain": round(close_s / plain_s, 2),
        "rerun_s": round(rerun_s, 3), "rerun_new_rows": new_rows, "rerun_created": rerun.created,
        "failed": len(first.failed), "waiting": first.waiting, "partner_wholesale_invoices": wholesale,
        "numbers_gapless": gapless, "issuers": len(sequences),
    }
    lines = [
        "",
        f"Period close: {result['organizations']:,} organizations ({setup['partners']} partners, "
        f"{setup['clients']} partner clients), {invoices:,} invoices, {result['lines']:,} lines",
        f"{'way':<46}{'seconds':>9}{'invoices/s':>12}",
        f"{'plain INSERT of the same rows (1 txn/org)':<46}{plain_s:>9.2f}{result['plain_rows_per_s']:>12,.1f}",
        f"{'services.period_close':<46}{close_s:>9.2f}{result['invoices_per_s']:>12,.1f}",
        f"{'services.period_close, rerun':<46}{rerun_s:>9.2f}{'':>12}",
        f"close / plain: {result['close_over_plain']}; failed {result['failed']}, waiting {result['waiting']}; "
        f"{wholesale} partner wholesale invoices; numbers gapless over {len(sequences)} issuers: {gapless}",
        f"rerun: {rerun.created} created, {rerun.existing:,} already invoiced, {new_rows} new rows",
        f"aim close <= {AIM_CLOSE_S} s: {'PASS' if close_s <= AIM_CLOSE_S else 'MISS'}; "
        f"aim rerun <= {AIM_RERUN_S} s with 0 new rows: "
        f"{'PASS' if rerun_s <= AIM_RERUN_S and new_rows == 0 else 'MISS'}",
        f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; {os.cpu_count()} cpus",
    ]
    print("\n".join(lines))
    write_json(args.json, {"result": result, "meta": {
        "python": platform.python_version(), "cpus": os.cpu_count(), "load_before": load_before,
        "load_after": os.getloadavg(), "argv": sys.argv[1:]}})
    print(f"JSON: {args.json}")


if __name__ == "__main__":
    main()
