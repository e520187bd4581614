"""A real Celery worker closing a period is killed (SIGKILL) mid-run; the rerun loses
nothing and duplicates nothing, and the numbers stay gapless.

The kill lands at a known point without any hook in the code: the test holds the row
lock of one organization's subscription, so the worker closes the organizations before
it and then waits on the lock, inside that organization's transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction

from billing import periods, services
from billing.models import Invoice, InvoiceLine, InvoiceSequence, Subscription
from billing.tasks import period_close as period_close_task
from tenants.models import Organization
from tests.billing.conftest import bill_from, last_period

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _bare_organization(n: int, plan) -> Organization:
    """An organization row and subscription without a schema: closing a period reads
    public tables only."""
    org = Organization.objects.create(schema_name=f"t_close_kill_{n}", name=f"Fechamento {n}",
                                      slug=f"fechamento-{n}", plan=plan, status="active")
    services.subscription_start(organization=org, plan=plan)
    bill_from(org)
    return org


def _worker(queue: str) -> subprocess.Popen:
    base_url = os.environ.get("DATABASE_URL") or _env_file()["DATABASE_URL"]
    test_url = urlsplit(base_url)._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "orbit.settings_test", "ORBIT_TEST_SLOT": str(settings.TEST_SLOT),
           "DATABASE_URL": test_url}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "orbit", "worker", "--pool", "solo", "-Q", queue,
         "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


def _env_file() -> dict[str, str]:
    values = {}
    for line in (PROJECT_DIR / "var" / "services.env").read_text().splitlines():
        key, _sep, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_close_then_rerun_loses_and_duplicates_nothing(live_db):
    from billing.models import Plan

    plan = Plan.objects.get(code="professional")
    orgs = [_bare_organization(n, plan) for n in range(6)]
    blocked = orgs[3]  # closed in id order: three before it, two after
    queue = f"billing-kill-{uuid.uuid4().hex[:8]}"
    worker = _worker(queue)
    try:
        with transaction.atomic():
            Subscription.objects.select_for_update().get(organization_id=blocked.pk)
            period_close_task.apply_async(args=[periods.label(last_period())], queue=queue)
            _wait_for(lambda: Invoice.objects.filter(period=last_period()).count() == 3, 60,
                      "the worker to close the organizations before the locked one")
            time.sleep(0.3)  # it is now waiting on the lock, inside the fourth organization's transaction
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        assert worker.returncode == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)

    # what the killed run left: three whole invoices, nothing of the fourth
    done = Invoice.objects.filter(period=last_period())
    assert sorted(done.values_list("organization_id", flat=True)) == [o.pk for o in orgs[:3]]
    for invoice in done:
        assert invoice.lines.count() == 1 and invoice.total == invoice.lines.get().amount
    assert InvoiceSequence.objects.get(issuer="platform").last_number == 3
    assert Subscription.objects.get(organization_id=blocked.pk).current_period_start == last_period()

    rerun = services.period_close(period=last_period())
    assert (rerun.created, rerun.existing, rerun.failed) == (3, 3, [])
    again = services.period_close(period=last_period())
    assert (again.created, again.existing) == (0, 6)

    invoices = Invoice.objects.filter(period=last_period())
    assert sorted(invoices.values_list("organization_id", flat=True)) == [o.pk for o in orgs]
    assert sorted(invoices.values_list("sequence", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert InvoiceLine.objects.filter(invoice__in=invoices).count() == 6
    assert all(s.current_period_start == periods.next_period(last_period())
               for s in Subscription.objects.filter(organization_id__in=[o.pk for o in orgs]))
