"""python manage.py stats --tenant SLUG --period last-month|this-month|YYYY-MM [--format table|json]
   python manage.py stats --platform [--period this-month|last-month|last-12-months]   (JSON; billing.platform_report)"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from billing import periods, platform_report, selectors


class Command(BaseCommand):
    help = "Usage against limits of one organization in a period (meters; the open period live)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="organization slug")
        parser.add_argument("--platform", action="store_true",
                            help="the operator dashboard's platform figures as JSON (this-month, last-month, last-12-months)")
        parser.add_argument("--period", default="this-month", help="this-month, last-month or YYYY-MM")
        parser.add_argument("--format", default="table", choices=["table", "json"])

    def handle(self, *args, tenant: str, period: str, format: str, platform: bool = False, **options):
        if platform:
            if period not in ("this-month", "last-month", "last-12-months"):
                raise CommandError(f"invalid period {period!r} for --platform: use this-month, last-month or last-12-months")
            self.stdout.write(json.dumps(platform_report.platform_report(period=period), indent=2))
            return
        if not tenant:
            raise CommandError("--tenant SLUG (or --platform) is required")
        try:
            period_date = periods.parse(period)
        except periods.PeriodError as exc:
            raise CommandError(str(exc)) from None
        try:
            organization = selectors.organization_by_slug(slug=(tenant or "").strip().lower())
        except Exception as exc:
            if exc.__class__.__name__ == "DoesNotExist":
                raise CommandError(f"unknown organization {tenant!r}") from None
            raise
        rows = selectors.usage_summary(organization=organization, period=period_date)
        tree = selectors.rollup(organization=organization, period=period_date) if organization.kind != "company" else None
        if format == "json":
            payload = {
                "organization": organization.slug, "period": periods.label(period_date),
                "state": periods.state(period_date), "plan": organization.plan.code,
                "usage": [{"metric": r.metric, "used": r.used, "limit": r.limit, "percent": r.percent, "level": r.level}
                          for r in rows],
            }
            if tree is not None:
                payload["tree_totals"] = tree
            self.stdout.write(json.dumps(payload, indent=2))
            return
        self.stdout.write(f"{organization.name} ({organization.slug}) · plan {organization.plan.code} · "
                          f"{periods.label(period_date)} ({periods.state(period_date)})")
        header = f"{'metric':<22}{'used':>16}{'limit':>16}{'%':>6}  level"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in rows:
            limit = "unlimited" if r.unlimited else str(r.limit)
            percent = "" if r.percent is None else str(r.percent)
            self.stdout.write(f"{r.metric:<22}{r.used:>16}{limit:>16}{percent:>6}  {r.level}")
        if tree is not None:
            self.stdout.write("tree totals (itself + descendants): " + ", ".join(f"{m}={v}" for m, v in tree.items()))
