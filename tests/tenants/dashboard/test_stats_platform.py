"""`manage.py stats --platform`: the dashboard's figures as JSON (machine values)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing import periods
from tenants.dashboard.snapshots import snapshot_day
from tests.tenants.dashboard.conftest import org

pytestmark = pytest.mark.usefixtures("clean_dashboard")


def run(*args) -> dict:
    out = io.StringIO()
    call_command("stats", *args, stdout=out)
    return json.loads(out.getvalue())


def test_platform_figures_as_json():
    org("a-co", plan="starter")
    org("b-co", plan="business", kind="partner")
    org("c-co", plan="starter", status="trial")
    now = timezone.now()
    snapshot_day(day=periods.localdate(now), now=now)
    data = run("--platform")
    assert data["period"]["key"] == "this-month"
    assert data["tenants"]["total"] == 3 and data["tenants"]["by_status"] == {"active": 2, "trial": 1}
    assert data["revenue"]["mrr"] == "1194.00" and data["revenue"]["arr"] == "14328.00"
    assert [t["slug"] for t in data["revenue"]["top_tenants"]] == ["b-co", "a-co"]
    assert data["health"]["postgres"] is True
    assert run("--platform", "--period", "last-12-months")["period"]["key"] == "last-12-months"


def test_bad_period_and_missing_tenant():
    with pytest.raises(CommandError, match="invalid period"):
        run("--platform", "--period", "2026-01")
    with pytest.raises(CommandError, match="--tenant"):
        call_command("stats", stdout=io.StringIO())
