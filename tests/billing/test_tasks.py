"""billing's Celery tasks in a real worker on the real broker, each in the right schema."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from billing import meters, periods, services
from billing.models import LimitAlert, Meter
from billing.tasks import limit_alert_notify, meter_recompute, meters_recompute_open
from orbit.celery import app
from tests.billing.conftest import new_key

TIMEOUT = 15


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    with django_db_blocker.unblock():
        app.control.purge()
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING") as w:
            yield w


def test_meter_tasks_run_in_public_and_recompute_the_ledger(live_db, worker, tenant, other_tenant):
    meters.record_many([meters.Event(tenant.pk, "message", 2, new_key()), meters.Event(other_tenant.pk, "message", 5, new_key())])
    connection.set_schema_to_public()
    result = meters_recompute_open.delay().get(timeout=TIMEOUT)
    assert result["schema"] == "public" and result["meters"] == 2
    period = periods.period_of(timezone.now())
    assert Meter.objects.get(organization_id=other_tenant.pk, period=period).value == 5
    assert meter_recompute.delay(tenant.pk, periods.label(period)).get(timeout=TIMEOUT)["meters"] == 1


def test_alert_email_task_runs_in_the_tenants_schema(live_db, worker, tenant, other_tenant):
    period = periods.period_of(timezone.now())
    alert = LimitAlert.objects.create(organization_id=tenant.pk, metric="message", period=period, level="soft_80",
                                      used=8, limit=10)
    with schema_context(tenant.schema_name):
        result = limit_alert_notify.delay(alert.pk).get(timeout=TIMEOUT)
    assert result == {"recipients": ["owner@alpha.example.com"], "schema": tenant.schema_name}


def test_raising_an_alert_enqueues_its_email_on_commit(live_db, worker, tenant, other_tenant):
    mail.outbox = []
    alert = services.limit_alert_raise(organization=other_tenant, metric="conversation_started",
                                       period=periods.period_of(timezone.now()), level="soft_90", used=9, limit=10)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        alert.refresh_from_db()
        if alert.emailed_at:
            break
        time.sleep(0.1)
    assert alert.emailed_at is not None
    assert [m.to for m in mail.outbox] == [["owner@beta.example.com"]]  # beta's admins only


def test_the_periodic_recompute_raises_alerts_mailed_to_the_client_and_its_partner(live_db, worker, tenant, other_tenant):
    """alpha is the partner, beta its client near its limit: the beat's recompute raises
    beta's alert once; the e-mail task (in beta's schema) tells beta's and alpha's admins."""
    from django_tenants.utils import get_tenant_model

    get_tenant_model().objects.filter(pk=tenant.pk).update(kind="partner")
    get_tenant_model().objects.filter(pk=other_tenant.pk).update(parent=tenant)
    services.limit_override_set(organization=other_tenant, metric="conversation_started", limit=10)
    services.limit_override_set(organization=tenant, metric="conversation_started", limit=100)
    meters.record_many([meters.Event(other_tenant.pk, "conversation_started", 1, new_key()) for _ in range(9)])
    meters.record_many([meters.Event(tenant.pk, "conversation_started", 1, new_key()) for _ in range(5)])
    mail.outbox = []
    connection.set_schema_to_public()
    for _ in range(2):
        meters_recompute_open.delay().get(timeout=TIMEOUT)
    alert = LimitAlert.objects.get()  # beta's only: alpha's 5 % (and its tree's 14 %) raise nothing
    assert (alert.organization_id, alert.level, alert.used) == (other_tenant.pk, "soft_90", 9)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and len(mail.outbox) < 2:
        time.sleep(0.1)
    time.sleep(0.3)  # nothing more comes
    assert sorted(m.to[0] for m in mail.outbox) == ["owner@alpha.example.com", "owner@beta.example.com"]
    partner_mail = next(m for m in mail.outbox if m.to == ["owner@alpha.example.com"])
    assert "Empresa Beta" in partner_mail.body
