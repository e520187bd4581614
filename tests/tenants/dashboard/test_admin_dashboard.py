"""The admin index is the operator's dashboard: figures formatted for the language, SVG
coordinates never localized, a bounded number of queries whatever the number of tenants,
the period picker, CSV for every table, "refresh now", and nobody but operators."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import periods
from tenants.dashboard import exports
from tenants.dashboard.models import PlatformDay
from tenants.dashboard.snapshots import snapshot_day, snapshots_refresh
from tests.conftest import host_client
from tests.factories import OWNER_PASSWORD, owner_email
from tests.tenants.dashboard.conftest import org
from tests.tenants.test_admin import operator  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("clean_dashboard")

EXPORT = "/admin/tenants/platformday/export/{}.csv"


def _today_snapshot():
    now = timezone.now()
    snapshot_day(day=periods.localdate(now), now=now)


@pytest.fixture
def customers(clean_dashboard):
    org("a-co", plan="starter")  # 197
    org("b-co", plan="professional")  # 497
    org("c-co", plan="business")  # 997
    org("d-co", plan="business")  # 997 (sum 2688)
    _today_snapshot()


def test_the_index_is_the_dashboard_in_portuguese(operator, customers):  # noqa: F811
    page = operator.get("/admin/", HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert 'data-kpi="mrr"' in page and "R$ 2.688,00" in page  # MRR
    assert "R$ 32.256,00" in page  # ARR
    assert "Organizações por situação" in page and "Receita por organização (20 maiores)" in page
    assert 'href="/admin/tenants/organization/' in page  # the admin's own lists are still there (sidebar)
    drawn = re.findall(r'<(?:rect|circle|line|text)\s[^>]*>', page)
    assert drawn
    for coordinate in re.findall(r'\s(?:x|y|width|height|cx|cy|x1|x2|y1|y2)="([^"]*)"', " ".join(drawn)):
        assert re.fullmatch(r"-?\d+(\.\d)?", coordinate), coordinate  # never "12,5"
    for points in re.findall(r'points="([^"]*)"', page):
        assert re.fullmatch(r"[\d., -]+", points) and "," not in points.replace(",", "", points.count(" ") + 1)
    assert re.search(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+"', page)  # the bars are drawn


def test_the_index_in_english(operator, customers):  # noqa: F811
    page = operator.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "R$2,688.00" in page and "Tenants by status" in page and "Revenue per tenant (top 20)" in page
    assert "Organizações por situação" not in page
    assert "Tenants at ≥ 80% / at the limit" in page and "No tenant at 80% of a limit." in page


def test_period_picker(operator, customers):  # noqa: F811
    for key in ("this-month", "last-month", "last-12-months"):
        page = operator.get(f"/admin/?period={key}").content.decode()
        assert f'data-period="{key}"' in page and 'aria-current="page"' in page
    assert 'data-period="this-month"' in operator.get("/admin/?period=nonsense").content.decode()


@pytest.mark.parametrize("table", sorted(exports.TABLES))
def test_every_table_exports_as_csv(operator, customers, table):  # noqa: F811
    response = operator.get(EXPORT.format(table) + "?period=this-month")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows and rows[0]


def test_csv_numbers_are_machine_values(operator, customers):  # noqa: F811
    rows = {r[0]: r for r in csv.reader(io.StringIO(operator.get(EXPORT.format("summary")).content.decode()))}
    assert rows["mrr"][2] == "2688.00" and rows["arr"][2] == "32256.00"
    top = list(csv.reader(io.StringIO(operator.get(EXPORT.format("top-tenants")).content.decode())))
    assert [r[1] for r in top[1:]] == ["c-co", "d-co", "b-co", "a-co"]
    assert operator.get(EXPORT.format("nothing")).status_code == 404


def _queries(client) -> int:
    client.get("/admin/")  # warm: content types and the like are cached per process after the first page
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/admin/?period=last-12-months").status_code == 200
    return len(captured)


def test_query_count_does_not_grow_with_the_tenants(operator, clean_dashboard):  # noqa: F811
    for i in range(5):
        org(f"few-{i}", plan="starter")
    now = timezone.now()
    snapshots_refresh(now=now)
    few = _queries(operator)
    for i in range(60):
        org(f"many-{i}", plan="professional", kind="partner" if i % 10 == 0 else "company")
    snapshots_refresh(now=now, days=[periods.localdate(now)])
    many = _queries(operator)
    assert few == many <= 20


def test_refresh_now(operator, clean_dashboard):  # noqa: F811
    org("a-co")
    assert operator.get("/admin/").status_code == 200  # no snapshot yet: says so
    assert "Ainda não há fotografias" in operator.get("/admin/").content.decode()
    response = operator.post("/admin/tenants/platformday/refresh/", {"next": "/admin/?period=last-month"})
    assert response.status_code == 302 and response["Location"] == "/admin/?period=last-month"
    assert PlatformDay.objects.filter(day=periods.localdate(timezone.now())).exists()
    response = operator.post("/admin/tenants/platformday/refresh/", {"next": "https://evil.example.com/"})
    assert response["Location"] == "/admin/"


# --- operators only ---------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login(db):
    for path in ("/admin/", EXPORT.format("summary")):
        response = host_client("localhost").get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_public_user_who_is_not_an_operator_gets_404(db, tenant):
    user = get_user_model().objects.create_user("cliente@orbit.example.com", OWNER_PASSWORD)
    client = host_client("localhost")
    client.force_login(user)
    assert client.get(EXPORT.format("summary")).status_code == 404
    assert client.get(f"/admin/tenants/organization/{tenant.pk}/overview/").status_code == 404
    assert client.post("/admin/tenants/platformday/refresh/").status_code == 404


def test_tenant_admins_and_partners_get_404(db, tenant, tenant_client):
    from tenants.models import Organization

    Organization.objects.filter(pk=tenant.pk).update(kind="partner")
    response = tenant_client.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": OWNER_PASSWORD})
    assert response.status_code == 302  # logged in on its own host
    for path in ("/admin/", EXPORT.format("summary"), f"/admin/tenants/organization/{tenant.pk}/overview/"):
        assert tenant_client.get(path).status_code == 404, path
    # its credentials mean nothing on the base host
    base = host_client("localhost")
    assert not base.login(email=owner_email(tenant.slug), password=OWNER_PASSWORD)
    assert base.get(EXPORT.format("summary")).status_code == 302


def test_the_operator_keeps_the_acquisition_costs(operator, clean_dashboard):  # noqa: F811
    from tenants.dashboard.models import AcquisitionCost

    response = operator.post("/admin/tenants/acquisitioncost/add/", {"month": "03/2026", "amount": "2500.50", "note": "ads"})
    assert response.status_code == 302
    cost = AcquisitionCost.objects.get()
    assert (cost.month, cost.amount, cost.updated_by) == (dt.date(2026, 3, 1), Decimal("2500.50"), "ops@orbit.example.com")
    assert "03/2026" in operator.get("/admin/tenants/acquisitioncost/").content.decode()
