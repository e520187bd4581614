"""python manage.py billing generate-invoice --tenant SLUG [--period YYYY-MM] [--dry-run]
python manage.py billing close-period [--period last-month|YYYY-MM]
python manage.py billing invoices --tenant SLUG [--format table|json]"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from billing import periods, selectors, services
from billing.models import Invoice


class Command(BaseCommand):
    help = "Invoices: close a period for everyone, invoice one organization, list its invoices."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        generate = sub.add_parser("generate-invoice", help="close a period for one organization")
        generate.add_argument("--tenant", required=True, help="organization slug")
        generate.add_argument("--period", default="last-month", help="last-month or YYYY-MM (closed periods only)")
        generate.add_argument("--dry-run", action="store_true", help="show the invoice, write nothing")
        close = sub.add_parser("close-period", help="invoice every organization for a closed period")
        close.add_argument("--period", default="last-month", help="last-month or YYYY-MM (closed periods only)")
        listing = sub.add_parser("invoices", help="an organization's invoices")
        listing.add_argument("--tenant", required=True, help="organization slug")
        listing.add_argument("--format", default="table", choices=["table", "json"])

    def handle(self, *args, action: str, **options):
        try:
            return getattr(self, action.replace("-", "_"))(**options)
        except (services.BillingError, periods.PeriodError) as exc:
            raise CommandError(str(exc)) from None

    def _organization(self, slug: str):
        try:
            return selectors.organization_by_slug(slug=(slug or "").strip().lower())
        except Exception as exc:
            if exc.__class__.__name__ == "DoesNotExist":
                raise CommandError(f"unknown organization {slug!r}") from None
            raise

    def generate_invoice(self, *, tenant: str, period: str, dry_run: bool, **_options):
        organization = self._organization(tenant)
        period_date = periods.parse(period)
        if dry_run:
            found = services.invoice_preview(organization=organization, period=period_date)
            if isinstance(found, Invoice):
                self.stdout.write(f"already invoiced: {found.number}")
                self._lines(found.lines.all(), found.total, found.amount_due)
                return
            self.stdout.write(f"{organization.slug} · {periods.label(period_date)} · dry run, nothing written")
            self._lines(found.lines, found.total, found.amount_due)
            return
        result = services.period_close(period=period_date, organization_ids=[organization.pk])
        self._report(result)
        invoice = Invoice.objects.filter(organization_id=organization.pk, period=period_date, kind="period").first()
        if invoice is not None:
            self._lines(invoice.lines.all(), invoice.total, invoice.amount_due)

    def close_period(self, *, period: str, **_options):
        period_date = periods.parse(period)
        step = {"next": 0}

        def progress(done: int, total: int) -> None:
            percent = done * 100 // total
            if percent >= step["next"] or done == total:
                self.stderr.write(f"\r{periods.label(period_date)}: {done}/{total} ({percent}%)",
                                  ending="\n" if done == total else "")
                self.stderr.flush()
                step["next"] = percent + 5

        self._report(services.period_close(period=period_date, progress=progress))

    def invoices(self, *, tenant: str, format: str, **_options):
        organization = self._organization(tenant)
        rows = list(selectors.invoice_list(organization=organization))
        if format == "json":
            self.stdout.write(json.dumps([
                {"number": i.number, "kind": i.kind, "period": periods.label(i.period), "status": i.status,
                 "issuer": i.issuer_name, "total": str(i.total), "amount_due": str(i.amount_due),
                 "issued_at": i.issued_at.isoformat() if i.issued_at else None,
                 "due_at": i.due_at.isoformat() if i.due_at else None,
                 "paid_at": i.paid_at.isoformat() if i.paid_at else None} for i in rows], indent=2))
            return
        if not rows:
            self.stdout.write(f"{organization.slug}: no invoices yet")
            return
        header = f"{'number':<20}{'period':<9}{'kind':<13}{'status':<15}{'total':>12}{'due':>12}"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for i in rows:
            self.stdout.write(f"{i.number:<20}{periods.label(i.period):<9}{i.kind:<13}{i.status:<15}"
                              f"{i.total:>12}{i.amount_due:>12}")

    def _report(self, result: services.CloseResult) -> None:
        self.stdout.write(f"{periods.label(result.period)}: {result.created} created, {result.existing} already "
                          f"invoiced, {result.waiting} waiting for their clients, {len(result.failed)} failed")
        for who, error in result.failed:
            self.stderr.write(f"  organization {who}: {error}")
        if result.failed:
            raise CommandError(f"{len(result.failed)} organizations failed; run again to retry them")

    def _lines(self, lines, total, amount_due) -> None:
        for line in lines:
            self.stdout.write(f"  {line.description[:70]:<72}{line.amount:>12}")
        self.stdout.write(f"  {'total':<72}{total:>12}")
        self.stdout.write(f"  {'amount due':<72}{amount_due:>12}")
