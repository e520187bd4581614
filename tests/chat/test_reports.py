"""Reports: figures (per day, first response, resolution, per agent/team), the page's range
validation and empty state, CSV export, admins only, one query per figure, tenant isolation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat import reports
from chat.models import Conversation
from chat.views.reports import bar_chart
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory, TeamFactory
from tests.factories import UserFactory, logged_in, owner_email

pytestmark = pytest.mark.django_db

ALPHA, BETA = "alpha.localhost", "beta.localhost"


def at(days_ago: int, hour: int = 12) -> dt.datetime:
    today = timezone.localdate()
    return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def history(tenant):
    """Four conversations in tenant A over the last days, with known response/resolution times."""
    with tenant_context(tenant):
        ana = UserFactory(email="ana@alpha.example.com", name="Ana")
        bia = UserFactory(email="bia@alpha.example.com", name="Bia")
        team = TeamFactory(name="Suporte")
        inbox = InboxFactory(name="Site")
        specs = [
            # (days ago, assignee, team, first reply after, resolved after, contact name)
            (0, ana, team, dt.timedelta(minutes=2), dt.timedelta(hours=1), "Carla"),
            (0, ana, None, dt.timedelta(minutes=4), None, "=HYPERLINK(\"http://evil\")"),
            (2, bia, team, dt.timedelta(minutes=10), dt.timedelta(hours=3), "Davi"),
            (40, bia, None, dt.timedelta(minutes=1), None, "Antigo"),  # outside the default range
        ]
        for days, who, team_, reply, resolve, name in specs:
            created = at(days)
            conv = ConversationFactory(inbox=inbox, contact=ContactFactory(name=name), assignee=who, team=team_)
            Conversation.objects.filter(pk=conv.pk).update(
                created_at=created,
                first_reply_at=created + reply,
                resolved_at=created + resolve if resolve else None,
                status="resolved" if resolve else "open",
            )
    return {"ana": ana, "bia": bia, "team": team}


def test_figures(tenant, history):
    with tenant_context(tenant):
        period = reports.default_range()
        with CaptureQueriesContext(connection) as queries:
            per_day = reports.conversations_per_day(period=period)
            summary = reports.summary(period=period)
            agents = reports.per_agent(period=period)
            teams = reports.per_team(period=period)
        figures = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SET ")]
        assert len(figures) == 4, figures  # one per figure, whatever the number of rows
    assert len(per_day) == 30 and per_day[-1] == (timezone.localdate(), 2) and per_day[-3][1] == 1
    assert sum(n for _, n in per_day) == 3
    assert summary["conversations"] == 3 and summary["resolved"] == 2 and summary["replied"] == 3
    assert summary["first_response_median"] == dt.timedelta(minutes=4)
    assert summary["resolution_avg"] == dt.timedelta(hours=2)
    by_agent = {row["assignee__name"]: row for row in agents}
    assert by_agent["Ana"]["conversations"] == 2 and by_agent["Ana"]["resolved"] == 1
    assert by_agent["Bia"]["first_response_median"] == dt.timedelta(minutes=10)
    by_team = {row["team__name"]: row["conversations"] for row in teams}
    assert by_team == {"Suporte": 2, None: 1}


def test_page_default_range_chart_and_tables(history):
    owner = logged_in(ALPHA, owner_email("alpha"))
    response = owner.get("/reports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and html.count('class="report-chart__bar"') == 2  # the two days with conversations
    assert "Ana" in html and "Suporte" in html and "Antigo" not in html
    assert "/reports/conversations.csv?start=" in html


SVG_NUMBERS = re.compile(r'\s(x|y|x1|x2|y1|y2|width|height|data-n)="([^"]*)"')


@pytest.mark.parametrize("language", ["pt-br", "en"])
def test_chart_and_date_inputs_are_machine_values_in_every_language(history, language):
    """pt-BR writes 188,4 for 188.4: SVG coordinates with a comma draw nothing, and a date input
    whose value is not yyyy-mm-dd shows an empty mm/dd/yyyy."""
    owner = logged_in(ALPHA, owner_email("alpha"))
    html = owner.get("/reports/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}">' in html
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    view_box = re.search(r'viewBox="([^"]*)"', svg).group(1)
    assert re.fullmatch(r"0 0 \d+ \d+", view_box), view_box
    numbers = SVG_NUMBERS.findall(svg)
    assert len(numbers) > 20
    assert not [n for n in numbers if "," in n[1]], [n for n in numbers if "," in n[1]]
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", value) for _, value in numbers), numbers
    period = reports.default_range()
    assert f'name="start" value="{period.start.isoformat()}"' in html
    assert f'name="end" value="{period.end.isoformat()}"' in html
    # a submitted range comes back as typed (ISO), and is understood in either language
    start = period.end - dt.timedelta(days=2)
    html = owner.get(f"/reports/?start={start.isoformat()}&end={period.end.isoformat()}", HTTP_ACCEPT_LANGUAGE=language)
    assert f'name="start" value="{start.isoformat()}"' in html.content.decode()


def test_chart_draws_no_bar_for_a_day_without_conversations():
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=i) for i in range(4)]
    chart = bar_chart(list(zip(days, [0, 3, 0, 1], strict=True)))
    assert [(bar["day"], bar["n"]) for bar in chart["bars"]] == [(days[1], 3), (days[3], 1)]
    three, one = chart["bars"]
    assert three["h"] == pytest.approx(3 * one["h"], abs=0.1)
    assert three["y"] + three["h"] == pytest.approx(chart["base_y"]) == one["y"] + one["h"]  # on the axis
    assert bar_chart([(days[0], 0)])["bars"] == []
    # each axis value sits at its own height: the bar of 3 (of a top of 5) is above the "2" line
    ticks = {t["value"]: t["y"] for t in chart["ticks"]}
    assert sorted(ticks) == [0, 2, 5]
    assert ticks[0] == chart["base_y"] and three["y"] < ticks[2] < one["y"]
    assert ticks[2] == pytest.approx(chart["base_y"] - 2 * one["h"], abs=0.1)


@pytest.mark.parametrize(
    "query",
    [
        "start=2025-02-30&end=2025-03-01",  # no such day
        "start=2025-03-10&end=2025-03-01",  # backwards
        "start=2020-01-01&end=2025-01-01",  # too long
        "start=&end=",
        "start=abc",
    ],
)
def test_bad_ranges_are_a_clear_400(history, query):
    owner = logged_in(ALPHA, owner_email("alpha"))
    response = owner.get(f"/reports/?{query}")
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert owner.get(f"/reports/conversations.csv?{query}").status_code == 400


def test_empty_state(tenant):
    owner = logged_in(ALPHA, owner_email("alpha"))
    html = owner.get("/reports/?start=2024-01-01&end=2024-01-31").content.decode()
    assert "Nenhuma conversa" in html and "<svg" not in html


def test_csv_one_row_per_conversation_streamed_and_formula_safe(history):
    owner = logged_in(ALPHA, owner_email("alpha"))
    response = owner.get("/reports/conversations.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 and list(rows[0]) == list(reports.CSV_COLUMNS)
    names = {row["contact"] for row in rows}
    assert "'=HYPERLINK(\"http://evil\")" in names and "Antigo" not in names
    carla = next(row for row in rows if row["contact"] == "Carla")
    assert carla["first_response_seconds"] == "120" and carla["resolution_seconds"] == "3600"
    assert carla["assignee"] == "Ana" and carla["team"] == "Suporte" and carla["status"] == "resolved"


def test_agents_and_strangers_are_refused(history, client):
    assert client.get("/reports/", HTTP_HOST=ALPHA).status_code == 302  # to login
    agent = logged_in(ALPHA, "ana@alpha.example.com")
    assert agent.get("/reports/").status_code == 404
    assert agent.get("/reports/conversations.csv").status_code == 404
    assert "/reports/" not in agent.get("/inbox/").content.decode()  # no link either


def test_tenant_b_sees_only_its_own_figures(history, other_tenant):
    beta = logged_in(BETA, owner_email("beta"))
    html = beta.get("/reports/").content.decode()
    assert "Nenhuma conversa" in html and "Ana" not in html
    text = b"".join(beta.get("/reports/conversations.csv").streaming_content).decode("utf-8-sig")
    assert text.strip().splitlines() == [",".join(reports.CSV_COLUMNS)]


def test_reports_need_the_plans_analytics_feature(tenant):
    """A plan sells only what gates something: Starter has no reports, and says where to get them."""
    from billing.models import Plan
    from tenants.models import Organization
    from tenants.routing import invalidate_organization

    Organization.objects.filter(pk=tenant.pk).update(plan=Plan.objects.get(code="starter"))
    invalidate_organization(tenant)
    owner = logged_in(tenant.domains.get(is_primary=True).domain, owner_email(tenant.slug))
    for path in ("/reports/", "/reports/conversations.csv"):
        response = owner.get(path)
        assert response.status_code == 403, path
        assert "Professional" in response.content.decode() and "/settings/plan/" in response.content.decode()
