"""The dashboard's figures for a period, read from the snapshot tables only (a handful of
queries, whatever the number of organizations).

Definitions (the page's legend says the same):

* MRR: the platform's monthly recurring revenue on the period's last snapshot day (see
  tenants.dashboard.snapshots); ARR = 12 × MRR.
* MRR movements (new, expansion, contraction, churn, reactivation): the sum of the daily
  movements of the period's days.
* Cohort of the period: the organizations paying on the day before the period starts (the
  first snapshot, if the period starts before it). NRR = their MRR at the end ÷ at the start;
  revenue churn = 1 − Σ min(end, start) ÷ Σ start (what the cohort lost, expansion aside);
  logo churn = those of them paying nothing at the end ÷ the cohort.
* ARPA = MRR ÷ paying customers. LTV = ARPA ÷ monthly logo churn (the period's logo churn
  spread over its months); none without churn. CAC = acquisition cost of the period's months
  ÷ new paying customers. Trial → paid = trials converted ÷ trials that ended (converted or lost).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import periods, pricing
from tenants.dashboard.models import ZERO, AcquisitionCost, OrganizationDay, PlatformDay

PERIODS = {
    "this-month": _("Este mês"),
    "last-month": _("Mês passado"),
    "last-12-months": _("Últimos 12 meses"),
}
DEFAULT_PERIOD = "this-month"
CHART_DAYS = 30
TOP = 20


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.date
    end: dt.date  # inclusive

    @property
    def label(self):
        return PERIODS.get(self.key, self.key)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def months(self) -> Decimal:
        return max(Decimal("1"), Decimal(self.days) / Decimal("30.4375"))


def period_for(key: str | None, *, today: dt.date | None = None, start: dt.date | None = None,
               end: dt.date | None = None) -> Period:
    """this-month (to today), last-month, last-12-months (the current month and the 11 before);
    anything else is this month. start/end: an explicit range (tests, the stats command)."""
    today = today or periods.localdate(timezone.now())
    if start is not None and end is not None:
        return Period("custom", start, end)
    current = today.replace(day=1)
    if key == "last-month":
        first = periods.previous_period(current)
        return Period(key, first, current - dt.timedelta(days=1))
    if key == "last-12-months":
        first = current
        for _ in range(11):
            first = periods.previous_period(first)
        return Period(key, first, today)
    return Period(DEFAULT_PERIOD, current, today)


def ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


@dataclass
class Movements:
    new: Decimal = ZERO
    expansion: Decimal = ZERO
    contraction: Decimal = ZERO
    churn: Decimal = ZERO
    reactivation: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.new + self.expansion + self.reactivation - self.contraction - self.churn

    def rows(self):
        return [("new", _("Novo"), self.new), ("expansion", _("Expansão"), self.expansion),
                ("reactivation", _("Reativação"), self.reactivation),
                ("contraction", _("Contração"), -self.contraction), ("churn", _("Cancelamento"), -self.churn)]


@dataclass
class Cohort:
    day: dt.date | None = None
    customers: int = 0
    mrr_start: Decimal = ZERO
    mrr_end: Decimal = ZERO
    kept: Decimal = ZERO
    lost: int = 0

    @property
    def nrr(self) -> Decimal | None:
        return ratio(self.mrr_end, self.mrr_start)

    @property
    def grr(self) -> Decimal | None:
        return ratio(self.kept, self.mrr_start)

    @property
    def revenue_churn(self) -> Decimal | None:
        grr = self.grr
        return None if grr is None else 1 - grr

    @property
    def logo_churn(self) -> Decimal | None:
        return ratio(self.lost, self.customers)


@dataclass
class Figures:
    period: Period
    snapshot: PlatformDay | None
    days: list[PlatformDay] = field(default_factory=list)  # the period's days
    chart_days: list[PlatformDay] = field(default_factory=list)  # the 30 days ending with the period
    start_snapshot: PlatformDay | None = None
    movements: Movements = field(default_factory=Movements)
    cohort: Cohort = field(default_factory=Cohort)
    acquisition_cost: Decimal | None = None
    acquisition_months: int = 0
    top_tenants: list[dict] = field(default_factory=list)
    top_partners: list[dict] = field(default_factory=list)
    near_limit: list[dict] = field(default_factory=list)

    # tenants

    def _sum(self, name: str) -> int:
        return sum(getattr(d, name) for d in self.days)

    @property
    def new_tenants(self) -> int:
        return self._sum("new_tenants")

    @property
    def churned_tenants(self) -> int:
        return self._sum("churned_tenants")

    @property
    def trials_started(self) -> int:
        return self._sum("trials_started")

    @property
    def trials_converted(self) -> int:
        return self._sum("trials_converted")

    @property
    def trials_lost(self) -> int:
        return self._sum("trials_lost")

    @property
    def trial_conversion(self) -> Decimal | None:
        return ratio(self.trials_converted, self.trials_converted + self.trials_lost)

    @property
    def messages(self) -> int:
        return self._sum("messages")

    @property
    def conversations(self) -> int:
        return self._sum("conversations")

    @property
    def visitors(self) -> int:
        return self._sum("visitors")

    def per_day(self, name: str) -> Decimal | None:
        return ratio(self._sum(name), len(self.days)) if self.days else None

    # revenue

    @property
    def mrr(self) -> Decimal:
        return self.snapshot.mrr if self.snapshot else ZERO

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12

    @property
    def customers(self) -> int:
        return self.snapshot.customers if self.snapshot else 0

    @property
    def mrr_start(self) -> Decimal:
        if self.start_snapshot is not None:
            return self.start_snapshot.mrr
        if self.days:
            first = self.days[0]
            return first.mrr - (first.mrr_new + first.mrr_expansion + first.mrr_reactivation
                                - first.mrr_contraction - first.mrr_churn)
        return ZERO

    @property
    def customers_new(self) -> int:
        return self._sum("customers_new")

    @property
    def customers_churned(self) -> int:
        return self._sum("customers_churned")

    @property
    def customers_reactivated(self) -> int:
        return self._sum("customers_reactivated")

    @property
    def arpa(self) -> Decimal | None:
        value = ratio(self.mrr, self.customers)
        return None if value is None else pricing.money(value)

    @property
    def monthly_logo_churn(self) -> Decimal | None:
        churn = self.cohort.logo_churn
        return None if churn is None else churn / self.period.months

    @property
    def ltv(self) -> Decimal | None:
        churn, arpa = self.monthly_logo_churn, self.arpa
        if not churn or arpa is None:
            return None
        return pricing.money(arpa / churn)

    @property
    def cac(self) -> Decimal | None:
        if self.acquisition_cost is None or not self.customers_new:
            return None
        return pricing.money(self.acquisition_cost / self.customers_new)

    @property
    def ltv_to_cac(self) -> Decimal | None:
        ltv, cac = self.ltv, self.cac
        return None if ltv is None or not cac else ltv / cac


def _cohort(start_day: dt.date | None, end_day: dt.date | None) -> Cohort:
    if start_day is None or end_day is None:
        return Cohort()
    table = connection.ops.quote_name(OrganizationDay._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(sum(s.mrr), 0), coalesce(sum(coalesce(e.mrr, 0)), 0), "
            f"coalesce(sum(least(coalesce(e.mrr, 0), s.mrr)), 0), count(*) FILTER (WHERE coalesce(e.mrr, 0) = 0) "
            f"FROM {table} s LEFT JOIN {table} e ON e.organization_id = s.organization_id AND e.day = %s "
            f"WHERE s.day = %s AND s.mrr > 0",
            [end_day, start_day],
        )
        customers, mrr_start, mrr_end, kept, lost = cursor.fetchone()
    return Cohort(start_day, customers, mrr_start, mrr_end, kept, lost)


def _top_partners(day: dt.date, limit: int) -> list[dict]:
    table = connection.ops.quote_name(OrganizationDay._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.organization_id, p.name, p.slug, p.plan_code, p.mrr, sum(c.mrr), count(*) - 1 "
            f"FROM {table} c JOIN {table} p ON p.day = c.day AND p.organization_id = c.payer_id "
            f"WHERE c.day = %s AND p.kind = 'partner' "
            f"GROUP BY p.organization_id, p.name, p.slug, p.plan_code, p.mrr ORDER BY sum(c.mrr) DESC, p.name LIMIT %s",
            [day, limit],
        )
        return [{"organization_id": r[0], "name": r[1], "slug": r[2], "plan_code": r[3], "own_mrr": r[4],
                 "mrr": r[5], "clients_mrr": r[5] - r[4], "clients": r[6]} for r in cursor.fetchall()]


def figures_for(period: Period, *, top: int = TOP) -> Figures:
    """Everything the dashboard shows for `period`, from the snapshot tables."""
    first = min(period.start - dt.timedelta(days=1), period.end - dt.timedelta(days=CHART_DAYS - 1))
    rows = list(PlatformDay.objects.filter(day__gte=first, day__lte=period.end).order_by("day"))
    days = [r for r in rows if r.day >= period.start]
    before = [r for r in rows if r.day < period.start]
    snapshot = days[-1] if days else None
    figures = Figures(period=period, snapshot=snapshot, days=days,
                      chart_days=[r for r in rows if r.day > period.end - dt.timedelta(days=CHART_DAYS)],
                      start_snapshot=before[-1] if before else None)
    if snapshot is None:
        return figures
    for row in days:
        figures.movements.new += row.mrr_new
        figures.movements.expansion += row.mrr_expansion
        figures.movements.contraction += row.mrr_contraction
        figures.movements.churn += row.mrr_churn
        figures.movements.reactivation += row.mrr_reactivation
    cohort_day = figures.start_snapshot.day if figures.start_snapshot else days[0].day
    figures.cohort = _cohort(cohort_day, snapshot.day)
    costs = list(AcquisitionCost.objects.filter(month__gte=period.start.replace(day=1), month__lte=period.end)
                 .values_list("amount", flat=True))
    if costs:
        figures.acquisition_cost, figures.acquisition_months = sum(costs, ZERO), len(costs)
    on_end = OrganizationDay.objects.filter(day=snapshot.day)
    columns = ("organization_id", "name", "slug", "kind", "status", "plan_code", "cycle", "mrr", "limit_percent",
               "parent_id")
    figures.top_tenants = list(on_end.filter(mrr__gt=0).order_by("-mrr", "name").values(*columns)[:top])
    figures.top_partners = _top_partners(snapshot.day, top)
    figures.near_limit = list(on_end.filter(limit_percent__gte=80).order_by("-limit_percent", "name")
                              .values(*columns)[:top])
    return figures
