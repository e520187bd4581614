"""The beat's refresh: usage from the ledger by the day it happened, late events correcting
their own day, reruns that change nothing, activity counted as people (not seats), and the
first run's month of history."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from billing import meters, periods
from tenants.dashboard import activity
from tenants.dashboard.models import ActivityDay, OrganizationDay, PlatformDay
from tenants.dashboard.snapshots import days_to_refresh, snapshots_refresh
from tests.tenants.dashboard.conftest import org

pytestmark = pytest.mark.usefixtures("clean_dashboard")


def record(organization, metric: str, occurred_at: dt.datetime, quantity: int = 1) -> None:
    meters.record(organization=organization, metric=metric, quantity=quantity, occurred_at=occurred_at,
                  idempotency_key=f"dash:{uuid.uuid4()}")


def rows():
    return (list(PlatformDay.objects.order_by("day").values("day", "messages", "conversations", "mrr", "tenants")),
            list(OrganizationDay.objects.order_by("day", "organization_id")
                 .values("day", "organization_id", "messages", "conversations", "mrr", "status")))


def test_first_refresh_counts_a_month_of_usage_and_a_rerun_changes_nothing():
    now = timezone.now()
    today = periods.localdate(now)
    a = org("a-co", plan="starter")
    record(a, "message", now - dt.timedelta(days=2), quantity=5)
    record(a, "conversation_started", now - dt.timedelta(days=2))
    record(a, "message", now)

    done = snapshots_refresh(now=now)
    assert len(done["days"]) == 30 and done["days"][-1] == today.isoformat()
    before = rows()
    by_day = {r["day"]: r for r in before[0]}
    assert by_day[today]["messages"] == 1
    assert by_day[today - dt.timedelta(days=2)]["messages"] == 5
    assert by_day[today - dt.timedelta(days=2)]["conversations"] == 1

    snapshots_refresh(now=now, days=[today - dt.timedelta(days=n) for n in range(30)][::-1])
    assert rows() == before  # idempotent


def test_late_events_correct_the_day_they_belong_to():
    now = timezone.now()
    today = periods.localdate(now)
    a = org("a-co", plan="starter")
    snapshots_refresh(now=now)
    five_days_ago = today - dt.timedelta(days=5)
    assert PlatformDay.objects.get(day=five_days_ago).messages == 0

    # ingested now, it happened five days ago (a queue that was down, a late batch)
    record(a, "message", now - dt.timedelta(days=5), quantity=7)
    assert five_days_ago in days_to_refresh(now=now + dt.timedelta(minutes=15))
    snapshots_refresh(now=now + dt.timedelta(minutes=15))
    assert PlatformDay.objects.get(day=five_days_ago).messages == 7
    assert OrganizationDay.objects.get(day=five_days_ago, organization_id=a.pk).messages == 7
    assert PlatformDay.objects.get(day=today).messages == 0  # not counted where it arrived


def test_active_agents_are_people_who_acted_over_1_7_and_30_days():
    now = timezone.now()
    today = periods.localdate(now)
    a, b = org("a-co"), org("b-co")
    agent = type("U", (), {"email": "Ana@A.example.com"})()
    for days_ago, who, where in ((0, agent, a), (0, agent, a), (3, type("U", (), {"email": "bia@a.example.com"})(), a),
                                 (20, agent, b), (40, agent, a)):
        activity.activity_record(organization=where, kind="agent", user=agent if who is agent else who,
                                 now=now - dt.timedelta(days=days_ago))
    activity.activity_record(organization=a, kind="contact", contact_id=11, now=now)
    activity.activity_record(organization=a, kind="contact", contact_id=12, now=now)
    activity.activity_record(organization=a, kind="system", now=now)  # not a person
    activity.flush()
    row = ActivityDay.objects.get(organization_id=a.pk, day=today, kind="agent")
    assert (row.actor, row.actions) == ("ana@a.example.com", 2)

    snapshots_refresh(now=now)
    day = PlatformDay.objects.get(day=today)
    # ana in a (today), bia in a (3 days), ana in b (20 days): a person per organization
    assert (day.active_agents_1d, day.active_agents_7d, day.active_agents_30d) == (1, 2, 3)
    assert day.visitors == 2
    assert OrganizationDay.objects.get(day=today, organization_id=a.pk).active_agents == 1


def test_a_gap_in_the_beat_is_filled():
    now = timezone.now()
    today = periods.localdate(now)
    org("a-co")
    snapshots_refresh(now=now - dt.timedelta(days=40), days=[today - dt.timedelta(days=40)])
    days = days_to_refresh(now=now)
    assert days[0] == today - dt.timedelta(days=39) and days[-1] == today and len(days) == 40


def test_refresh_now_does_a_week_at_most_and_leaves_the_backlog_to_the_worker(monkeypatch,
                                                                                django_capture_on_commit_callbacks):
    from tenants.dashboard import snapshots
    from tenants.dashboard.snapshots import snapshots_refresh_now
    from tenants.tasks import dashboard_snapshots_refresh

    sent = []
    monkeypatch.setattr(snapshots.current_app, "send_task",
                        lambda name, kwargs: sent.append(kwargs) if name == dashboard_snapshots_refresh.name else None)
    now = timezone.now()
    today = periods.localdate(now)
    org("a-co")
    with django_capture_on_commit_callbacks(execute=True):
        done = snapshots_refresh_now(now=now)  # the first run: 30 days
    assert done["days"] == [today.isoformat()] and done["queued"] == 29
    [kwargs] = sent
    assert kwargs["days"][0] == (today - dt.timedelta(days=29)).isoformat() and kwargs["days"][-1] == today.isoformat()
    dashboard_snapshots_refresh.run(days=kwargs["days"])  # what the worker does
    assert PlatformDay.objects.count() == 30
    with django_capture_on_commit_callbacks(execute=True):
        again = snapshots_refresh_now(now=now)
    assert again["queued"] == 0 and len(sent) == 1 and again["days"] == [(today - dt.timedelta(days=1)).isoformat(),
                                                                           today.isoformat()]


def test_old_visitor_rows_are_pruned_and_their_day_keeps_its_count():
    now = timezone.now()
    today = periods.localdate(now)
    a = org("a-co")
    old = today - dt.timedelta(days=45)
    for contact in (1, 2, 3):
        activity.activity_record(organization=a, kind="contact", contact_id=contact, now=now - dt.timedelta(days=45))
    activity.flush()
    snapshots_refresh(now=now - dt.timedelta(days=45), days=[old])
    assert PlatformDay.objects.get(day=old).visitors == 3
    snapshots_refresh(now=now, days=[today])
    assert not ActivityDay.objects.filter(day=old).exists()  # pruned after 40 days
    snapshots_refresh(now=now, days=[old])  # a late recount of that day
    assert PlatformDay.objects.get(day=old).visitors == 3
