"""The operator's dashboard (the admin index) in headless Chromium, at 1280 px and on a 390×844
phone, in Portuguese and English: money and numbers in the language's format, the charts'
bars drawn (their coordinates are never localized), the period picker, a CSV link, the
per-tenant page and an action's confirmation. Screenshots go to tests/artifacts/dashboard-*.png."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from billing import periods
from billing.models import Plan, Subscription
from tenants.dashboard.models import AcquisitionCost, ActivityDay, OrganizationDay, PlatformDay
from tenants.dashboard.snapshots import snapshot_day, snapshots_refresh
from tenants.models import Organization
from tests.e2e.conftest import screenshot
from tests.e2e.test_agents_and_visitors import device, fits  # noqa: F401
from tests.factories import OWNER_PASSWORD

OPERATOR = "ops-e2e@orbit.example.com"
MRR = {"pt-BR": "R$ 4.885,00", "en": "R$4,885.00"}  # 197 + 497 + 997 + 2997 + 197
WORDS = {"pt-BR": ("Organizações por situação", "Mensagens por dia (30 dias)", "Últimos 12 meses", "Painel da organização",
                   "O que vai acontecer"),
         "en": ("Tenants by status", "Messages per day (30 days)", "Last 12 months", "Tenant page", "What will happen")}


def _clean() -> None:
    for model in (PlatformDay, OrganizationDay, ActivityDay, AcquisitionCost):
        model.objects.all().delete()


@pytest.fixture
def platform(live_db, session_tenants):
    """An operator, a few customers with a month of history, today's snapshot."""
    _clean()
    get_user_model().objects.create_superuser(OPERATOR, OWNER_PASSWORD)
    Organization.objects.filter(pk__in=session_tenants.ids).update(created_at=timezone.now() + dt.timedelta(days=3650))
    now = timezone.now()
    today = periods.localdate(now)
    made = []
    for i, (plan, kind) in enumerate([("starter", "company"), ("professional", "company"), ("business", "company"),
                                      ("white-label", "partner"), ("starter", "company")]):
        org = Organization(schema_name=f"e2e_dash_{i}", name=f"Cliente {i} Ltda", slug=f"e2e-dash-{i}", kind=kind,
                           plan=Plan.objects.get(code=plan), status="active")
        org.save()
        Organization.objects.filter(pk=org.pk).update(created_at=now - dt.timedelta(days=60))
        Subscription.objects.create(organization=org, plan=org.plan, status="active", cycle="monthly",
                                    current_period_start=periods.period_of(now),
                                    current_period_end=periods.next_period(periods.period_of(now)))
        made.append(org)
    snapshots_refresh(now=now)  # the first run: a month of days
    for back in range(29, -1, -1):  # some traffic to draw
        day = today - dt.timedelta(days=back)
        OrganizationDay.objects.filter(day=day).update(messages=40 + (back * 37) % 90, conversations=5 + back % 7,
                                                       visitors=3 + back % 5)
        PlatformDay.objects.filter(day=day).update(messages=5 * (40 + (back * 37) % 90), conversations=5 * (5 + back % 7),
                                                   visitors=5 * (3 + back % 5))
    AcquisitionCost.objects.create(month=today.replace(day=1), amount=Decimal("1234.56"))
    snapshot_day(day=today, now=now)
    PlatformDay.objects.filter(day=today).update(messages=321)
    yield made
    _clean()


def operator_login(page, url) -> None:
    page.goto(url("localhost", "/admin/login/"))
    page.fill("#id_username", OPERATOR)
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(url("localhost", "/admin/"))


@pytest.mark.parametrize("locale", ["pt-BR", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_operator_reads_the_dashboard(device, url, platform, size, locale):  # noqa: F811
    by_status, chart_title, twelve_months, tenant_page, consequence = WORDS[locale]
    page = device(size, locale)
    operator_login(page, url)
    page.wait_for_selector(f"caption >> text={by_status}")
    assert MRR[locale] in page.inner_text('[data-kpi="mrr"]')
    assert chart_title in page.inner_text("#chart-messages")
    bars = page.query_selector_all("#chart-messages svg rect")
    assert len(bars) == 30
    heights = [float(b.get_attribute("height")) for b in bars]
    assert max(heights) > 50 and all(h >= 0 for h in heights)  # drawn, in both languages
    box = page.query_selector("#chart-messages svg rect:last-child").bounding_box()
    assert box and box["height"] > 0
    screenshot(page, f"dashboard-{size}-{locale}")
    width, screen = fits(page)
    assert width <= screen, f"the dashboard is {width} px wide in a {screen} px window"

    page.click(f"nav.periods >> text={twelve_months}")
    page.wait_for_selector('#content-main[data-period="last-12-months"]')
    assert page.query_selector("#chart-mrr svg polyline") is not None
    csv = page.get_attribute('#top-tenants caption a.csv', "href")
    assert csv.startswith("/admin/tenants/platformday/export/top-tenants.csv")

    first = platform[3]  # the partner: the largest MRR
    page.click(f'#top-tenants tr[data-organization="{first.slug}"] a')
    page.wait_for_selector(f'.tenant-overview[data-organization="{first.slug}"]')
    screenshot(page, f"dashboard-tenant-{size}-{locale}")
    width, screen = fits(page)
    assert width <= screen, f"the tenant page is {width} px wide in a {screen} px window"
    page.click("a.action-suspend")
    page.click("input[type=submit]")  # the reason is optional: on to the confirmation
    page.wait_for_selector(f"text={consequence}")
    screenshot(page, f"dashboard-confirm-{size}-{locale}")
    first.refresh_from_db()
    assert first.status == "active"  # asked, not done
    assert tenant_page  # (the change form links back to this page; checked in tests/tenants)
