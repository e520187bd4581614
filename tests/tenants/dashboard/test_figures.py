"""Each dashboard figure against hand-computed values: MRR and its movements across an upgrade,
a downgrade, a cancellation and a reactivation; churn, NRR, ARPA, LTV and CAC over a quarter;
trials; tenants by status and kind; revenue per partner."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import PartnerPricing
from tenants.dashboard.figures import figures_for, period_for
from tenants.dashboard.models import AcquisitionCost, OrganizationDay, PlatformDay
from tenants.dashboard.snapshots import monthly_revenue, snapshot_day
from tests.tenants.dashboard.conftest import noon, org, set_state

pytestmark = pytest.mark.usefixtures("clean_dashboard")

D0, D1, D2 = dt.date(2026, 1, 10), dt.date(2026, 1, 11), dt.date(2026, 1, 12)


def snap(day):
    return snapshot_day(day=day, now=noon(day))


def test_mrr_movements_across_upgrade_downgrade_cancel_and_reactivation():
    a = org("a-co", plan="starter")  # 197
    b = org("b-co", plan="professional")  # 497
    c = org("c-co", plan="business")  # 997
    d = org("d-co", plan="professional", status="trial")  # 0 while in trial
    e = org("e-co", plan="starter")  # 197
    base = snap(D0)
    assert (base.mrr, base.customers) == (Decimal("1888.00"), 4)
    assert (base.mrr_new, base.mrr_churn, base.customers_new) == (0, 0, 0)  # the first snapshot is the baseline

    set_state(a, plan="professional")  # upgrade: +300
    set_state(b, plan="starter")  # downgrade applied at the end of its term: −300
    set_state(c, status="cancelled")  # churn: −997
    set_state(d, status="active")  # trial → paid: new +497
    day1 = snap(D1)
    assert day1.mrr == Decimal("1388.00")
    assert (day1.mrr_new, day1.mrr_expansion, day1.mrr_contraction, day1.mrr_churn, day1.mrr_reactivation) == (
        Decimal("497.00"), Decimal("300.00"), Decimal("300.00"), Decimal("997.00"), Decimal("0.00"))
    assert (day1.customers_new, day1.customers_churned, day1.trials_converted, day1.churned_tenants) == (1, 1, 1, 1)

    set_state(c, status="active")  # reactivation: +997
    set_state(e, price_override=Decimal("150.00"))  # contract price: −47
    org("f-co", plan="starter", created=D2)  # a new customer: +197
    day2 = snap(D2)
    assert day2.mrr == Decimal("2535.00")
    assert (day2.mrr_new, day2.mrr_expansion, day2.mrr_contraction, day2.mrr_churn, day2.mrr_reactivation) == (
        Decimal("197.00"), Decimal("0.00"), Decimal("47.00"), Decimal("0.00"), Decimal("997.00"))
    assert (day2.customers_reactivated, day2.new_tenants) == (1, 1)

    figures = figures_for(period_for(None, start=D1, end=D2))
    m = figures.movements
    assert (m.new, m.expansion, m.contraction, m.churn, m.reactivation) == (
        Decimal("694.00"), Decimal("300.00"), Decimal("347.00"), Decimal("997.00"), Decimal("997.00"))
    assert figures.mrr_start == Decimal("1888.00") and figures.mrr == Decimal("2535.00")
    assert figures.mrr_start + m.net == figures.mrr
    assert figures.arr == Decimal("30420.00")
    assert figures.trial_conversion == 1


def test_snapshots_of_a_day_are_idempotent():
    org("a-co", plan="starter")
    snap(D0)
    org("b-co", plan="business", created=D1)
    first = snap(D1)
    rows = list(OrganizationDay.objects.order_by("day", "organization_id").values())
    again = snap(D1)
    assert list(OrganizationDay.objects.order_by("day", "organization_id").values()) == [
        {**r, "captured_at": r2["captured_at"], "usage_at": r2["usage_at"]}
        for r, r2 in zip(rows, OrganizationDay.objects.order_by("day", "organization_id").values(), strict=True)]
    assert PlatformDay.objects.count() == 2
    for field in ("mrr", "mrr_new", "customers", "tenants", "new_tenants"):
        assert getattr(again, field) == getattr(first, field)
    assert again.mrr_new == Decimal("997.00")


def test_churn_nrr_arpa_ltv_and_cac_over_a_quarter():
    a = org("a-co", plan="starter")  # 197 → 997 (expansion)
    b = org("b-co", plan="professional")  # 497 → cancelled
    c = org("c-co", plan="business")  # 997 → contract 497 (contraction)
    org("d-co", plan="professional")  # 497, unchanged
    snap(dt.date(2025, 12, 31))  # the day before the quarter: the cohort (4 customers, 2188)

    set_state(a, plan="business")
    snap(dt.date(2026, 2, 15))
    set_state(b, status="cancelled")
    set_state(c, price_override=Decimal("497.00"))
    org("e-co", plan="starter", created=dt.date(2026, 3, 20))  # new, not in the cohort
    snap(dt.date(2026, 3, 31))
    for month, amount in ((1, "3000"), (2, "1000"), (3, "2000")):
        AcquisitionCost.objects.create(month=dt.date(2026, month, 1), amount=Decimal(amount))

    quarter = period_for(None, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))
    f = figures_for(quarter)
    assert f.cohort.customers == 4 and f.cohort.mrr_start == Decimal("2188.00")
    assert f.cohort.mrr_end == Decimal("1991.00")  # 997 + 0 + 497 + 497
    assert f.cohort.nrr == Decimal("1991") / Decimal("2188")  # 91.0 %
    assert round(f.cohort.nrr * 100, 1) == Decimal("91.0")
    assert f.cohort.grr == Decimal("1191") / Decimal("2188")  # 197 + 0 + 497 + 497 kept
    assert round(f.cohort.revenue_churn * 100, 1) == Decimal("45.6")
    assert f.cohort.logo_churn == Decimal("0.25")
    assert f.mrr == Decimal("2188.00") and f.customers == 4  # 997 + 497 + 497 + 197
    assert f.arpa == Decimal("547.00")
    months = Decimal(90) / Decimal("30.4375")
    assert f.ltv == (Decimal("547") / (Decimal("0.25") / months)).quantize(Decimal("0.01"))
    assert Decimal("6469") < f.ltv < Decimal("6470")
    assert (f.acquisition_cost, f.customers_new, f.cac) == (Decimal("6000"), 1, Decimal("6000.00"))
    m = f.movements
    assert (m.new, m.expansion, m.contraction, m.churn) == (Decimal("197.00"), Decimal("800.00"), Decimal("500.00"),
                                                            Decimal("497.00"))
    assert f.churned_tenants == 1 and f.new_tenants == 1


def test_tenants_by_status_and_kind_and_trials():
    partner = org("rev-co", plan="white-label", kind="partner")
    org("h-co", plan="business", kind="holding")
    org("t1-co", plan="starter", status="trial")
    t2 = org("t2-co", plan="starter", status="trial")
    org("s-co", plan="starter", status="suspended")
    org("p-co", plan="starter", status="past_due", sub_status="past_due", parent=partner)
    snap(D0)
    set_state(t2, status="cancelled")
    org("t3-co", plan="professional", status="trial", created=D1)
    day = snap(D1)
    assert day.by_status == {"active": 2, "trial": 2, "suspended": 1, "past_due": 1, "cancelled": 1}
    assert day.by_kind == {"partner": 1, "holding": 1, "company": 5}
    assert (day.tenants, day.new_tenants, day.trials_started, day.trials_lost, day.churned_tenants) == (7, 1, 1, 1, 1)
    f = figures_for(period_for(None, start=D1, end=D1))
    assert f.trial_conversion == 0  # one trial ended, lost


def test_revenue_per_partner_counts_its_clients_at_wholesale_price():
    partner = org("rev-co", plan="white-label", kind="partner")  # 2997
    PartnerPricing.objects.create(partner=partner, wholesale_discount_percent=Decimal("40"))
    org("cli-a", plan="professional", parent=partner)  # 497 × 60 % = 298.20
    org("cli-b", plan="business", parent=partner)  # 997 × 60 % = 598.20
    org("cli-c", plan="starter", parent=partner, status="trial")  # 0
    org("direct", plan="business")  # 997
    snap(D0)
    f = figures_for(period_for(None, start=D0, end=D0))
    assert f.mrr == Decimal("2997.00") + Decimal("298.20") + Decimal("598.20") + Decimal("997.00")
    [row] = f.top_partners
    assert (row["slug"], row["clients"], row["own_mrr"], row["clients_mrr"], row["mrr"]) == (
        "rev-co", 3, Decimal("2997.00"), Decimal("896.40"), Decimal("3893.40"))
    assert [r["slug"] for r in f.top_tenants] == ["rev-co", "direct", "cli-b", "cli-a"]


def test_monthly_revenue_rules():
    from billing.models import Plan, Subscription

    plan = Plan.objects.get(code="business")
    sub = Subscription(plan=plan, cycle="yearly", status="active", discount_percent=Decimal("10"))
    assert monthly_revenue(subscription=sub, organization_status="active") == Decimal("747.75")  # 9970 / 12 × 0.9
    assert monthly_revenue(subscription=sub, organization_status="suspended") == 0  # blocked by hand
    sub.status = "grace"
    assert monthly_revenue(subscription=sub, organization_status="past_due") > 0  # still owed
    sub.status, sub.plan = "active", Plan.objects.get(code="enterprise")
    assert monthly_revenue(subscription=sub, organization_status="active") == 0  # on request, no contract price
    sub.price_override = Decimal("12000")
    assert monthly_revenue(subscription=sub, organization_status="active") == Decimal("900.00")
