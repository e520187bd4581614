"""Celery tasks run in the schema they were sent from, in a real worker on the real broker."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from orbit.celery import app
from orbit.tasks import current_schema_name, log_schema_name

TIMEOUT = 15


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    """An in-process worker (a thread) consuming the test slot's Redis broker."""
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    with django_db_blocker.unblock():
        app.control.purge()  # nothing left over from an earlier run
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING") as w:
            yield w


def test_the_app_is_tenant_aware_and_finds_the_orbit_tasks(db):
    from tenant_schemas_celery.app import CeleryApp

    assert isinstance(app, CeleryApp)
    app.loader.import_default_modules()  # runs Django's system checks: dj-stripe's reads its table
    assert "orbit.tasks.current_schema_name" in app.tasks


def test_task_sent_from_a_tenant_runs_in_that_tenant(live_db, worker, tenant, other_tenant):
    for org in (tenant, other_tenant):
        with schema_context(org.schema_name):
            result = current_schema_name.delay()
        assert result.get(timeout=TIMEOUT) == org.schema_name


def test_task_sent_from_public_runs_in_public(live_db, worker, tenant):
    # The worker has just run a tenant's task: it must not stay in that schema.
    with schema_context(tenant.schema_name):
        assert current_schema_name.delay().get(timeout=TIMEOUT) == tenant.schema_name
    connection.set_schema_to_public()
    assert current_schema_name.delay().get(timeout=TIMEOUT) == "public"


def test_task_log_records_carry_the_tenant(live_db, worker, tenant, other_tenant):
    for org in (tenant, other_tenant):
        with schema_context(org.schema_name):
            assert log_schema_name.delay().get(timeout=TIMEOUT) == org.schema_name
    assert log_schema_name.delay().get(timeout=TIMEOUT) == "public"
