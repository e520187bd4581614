"""The dashboard page's context: the period's figures (snapshot tables), live health and
the charts. One selector for the admin index, the CSV exports and `stats --platform`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from tenants.dashboard import charts, display
from tenants.dashboard.figures import PERIODS, Figures, Period, figures_for, period_for
from tenants.dashboard.health import Health, health_check
from tenants.models import Organization


@dataclass
class Dashboard:
    period: Period
    figures: Figures
    health: Health
    periods: list[tuple[str, str]]
    charts: dict

    @property
    def has_data(self) -> bool:
        return self.figures.snapshot is not None

    def _rows(self, choices, counts: dict) -> list[tuple[str, str, int]]:
        return [(value, str(label), int(counts.get(value, 0))) for value, label in choices]

    @property
    def status_rows(self) -> list[tuple[str, str, int]]:
        return self._rows(Organization.Status.choices, self.figures.snapshot.by_status if self.has_data else {})

    @property
    def kind_rows(self) -> list[tuple[str, str, int]]:
        return self._rows(Organization.Kind.choices, self.figures.snapshot.by_kind if self.has_data else {})

    @property
    def movement_rows(self):
        return self.figures.movements.rows()


def dashboard_for(*, period_key: str | None, now: dt.datetime | None = None, with_charts: bool = True) -> Dashboard:
    now = now or timezone.now()
    period = period_for(period_key)
    figures = figures_for(period)
    health = health_check(now=now, since=timezone.make_aware(dt.datetime.combine(period.start, dt.time.min)))
    drawn = {}
    if with_charts and figures.chart_days:
        days = figures.chart_days
        drawn = {
            "messages": charts.bars([(d.day, d.messages) for d in days], title=_("Mensagens por dia"),
                                    label=display.number, css="bars messages"),
            "conversations": charts.bars([(d.day, d.conversations) for d in days], title=_("Conversas por dia"),
                                         label=display.number, css="bars conversations"),
            "visitors": charts.bars([(d.day, d.visitors) for d in days], title=_("Visitantes por dia"),
                                    label=display.number, css="bars visitors"),
            "mrr": charts.line([(d.day, d.mrr) for d in (figures.days or days)], title=_("MRR por dia"),
                               label=display.money, css="line mrr"),
        }
    statuses, kinds = dict(Organization.Status.choices), dict(Organization.Kind.choices)
    for row in figures.top_tenants + figures.near_limit:
        row["status_label"] = str(statuses.get(row["status"], row["status"]))
        row["kind_label"] = str(kinds.get(row["kind"], row["kind"]))
    return Dashboard(period=period, figures=figures, health=health, periods=[(k, str(v)) for k, v in PERIODS.items()],
                     charts=drawn)


def _json(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal: a point, never the language's separators


def platform_stats(*, period: str) -> dict:
    """The dashboard's figures as JSON (`manage.py stats --platform`, via billing.platform_report)."""
    dashboard = dashboard_for(period_key=period, with_charts=False)
    f, h = dashboard.figures, dashboard.health
    snapshot = f.snapshot
    return {
        "period": {"key": dashboard.period.key, "start": _json(dashboard.period.start), "end": _json(dashboard.period.end)},
        "snapshot": {"day": _json(snapshot.day) if snapshot else None,
                     "computed_at": _json(snapshot.computed_at) if snapshot else None},
        "tenants": {
            "total": snapshot.tenants if snapshot else 0,
            "by_status": dict(snapshot.by_status) if snapshot else {},
            "by_kind": dict(snapshot.by_kind) if snapshot else {},
            "new": f.new_tenants, "churned": f.churned_tenants,
        },
        "activity": {
            "active_agents": {"24h": snapshot.active_agents_1d if snapshot else 0,
                              "7d": snapshot.active_agents_7d if snapshot else 0,
                              "30d": snapshot.active_agents_30d if snapshot else 0},
            "messages": f.messages, "conversations": f.conversations, "visitors": f.visitors,
            "messages_per_day": [{"day": _json(d.day), "messages": d.messages} for d in f.chart_days],
        },
        "revenue": {
            "mrr": _json(f.mrr), "arr": _json(f.arr), "mrr_start": _json(f.mrr_start), "customers": f.customers,
            "movements": {key: _json(amount) for key, _label, amount in f.movements.rows()} | {"net": _json(f.movements.net)},
            "customers_new": f.customers_new, "customers_churned": f.customers_churned,
            "customers_reactivated": f.customers_reactivated,
            "nrr": _json(f.cohort.nrr), "grr": _json(f.cohort.grr), "revenue_churn": _json(f.cohort.revenue_churn),
            "logo_churn": _json(f.cohort.logo_churn), "arpa": _json(f.arpa), "ltv": _json(f.ltv),
            "acquisition_cost": _json(f.acquisition_cost), "cac": _json(f.cac),
            "trial_conversion": _json(f.trial_conversion), "overdue_amount": _json(h.overdue_amount),
            "overdue_invoices": h.overdue_invoices,
            "top_tenants": [{"slug": r["slug"], "name": r["name"], "mrr": _json(r["mrr"])} for r in f.top_tenants],
            "top_partners": [{"slug": r["slug"], "name": r["name"], "clients": r["clients"], "mrr": _json(r["mrr"])}
                             for r in f.top_partners],
        },
        "health": {
            "postgres": h.postgres_ok, "redis": h.redis_ok, "queue_length": h.queue_length,
            "queue_oldest_seconds": h.queue_oldest_seconds, "pool_size": h.pool_size, "open_alerts": h.open_alerts,
            "failed_payments": h.failed_payments, "near_limit": snapshot.near_limit if snapshot else 0,
            "at_limit": snapshot.at_limit if snapshot else 0, "last_billing_run": _json(h.last_billing_run),
            "last_snapshot": _json(h.last_snapshot), "errors": h.errors,
        },
    }
