"""Automatic `api_call` metering: every authenticated tenant /api/… request the rate limits
let through is one ledger row, written in batches (meters.record_later), never for a 429
nor for a call whose credential was refused (tests/billing/test_api_bad_credentials.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import get_tenant_model

from billing import limits, meters, services
from billing.models import Plan, UsageEvent
from billing.ratelimit import SCOPE_COUNTED, RateLimitMiddleware, api_call_authenticated
from tests.billing.conftest import ledger_count
from tests.billing.test_api_bad_credentials import api_token, bearer

API = "/api/v1/conversations"  # only calls whose token the view accepted are billed


def api_calls(org) -> int:
    return ledger_count(org, metric="api_call")


def put_on(plan, *orgs):
    get_tenant_model().objects.filter(pk__in=[o.pk for o in orgs]).update(plan=plan)
    services.limits_profile_forget(organization_ids=[o.pk for o in orgs])


@pytest.fixture
def deferred(settings):
    """Batching as in production (the timer would fire after a minute: the test flushes)."""
    settings.BILLING_COUNTER_DEFER_SECONDS = 60
    meters.flush_events()
    yield
    meters.flush_events()


def test_each_allowed_call_is_one_ledger_row(db, tenant, tenant_client):
    auth = bearer(api_token(tenant))
    for _ in range(4):
        assert tenant_client.get(API, **auth).status_code != 429
    assert api_calls(tenant) == 4
    keys = list(UsageEvent.objects.filter(organization_id=tenant.pk).values_list("idempotency_key", "quantity"))
    assert len({k for k, _q in keys}) == 4 and all(k.startswith(f"api:{tenant.pk}:") and q == 1 for k, q in keys)
    assert limits.current_usage(organization=tenant, metric="api_call") == 4


def test_calls_are_batched_into_one_insert_per_flush(db, tenant, tenant_client, deferred):
    auth = bearer(api_token(tenant))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(25):
            tenant_client.get(API, **auth)
    assert not [q for q in queries.captured_queries if "billing_usageevent" in q["sql"]]  # none on the hot path
    assert api_calls(tenant) == 0 and meters.pending_events() == 25
    with CaptureQueriesContext(connection) as queries:
        assert meters.flush_events() == 25
    assert len([q for q in queries.captured_queries if q["sql"].startswith("INSERT")]) == 1
    assert api_calls(tenant) == 25 and meters.pending_events() == 0
    assert meters.flush_events() == 0


def test_refused_calls_are_not_billed(db, tenant, tenant_client, deferred):
    put_on(Plan.objects.create(code="tight", name="Tight", api_requests_per_minute=5, api_burst=3), tenant)
    auth = bearer(api_token(tenant))
    codes = [tenant_client.get(API, **auth).status_code for _ in range(7)]
    assert codes.count(429) == 4
    meters.flush_events()
    assert api_calls(tenant) == 3


def test_tenant_a_calls_never_count_for_b(db, tenant, other_tenant, tenant_client, other_tenant_client, deferred):
    auth, other_auth = bearer(api_token(tenant)), bearer(api_token(other_tenant))
    for _ in range(6):
        tenant_client.get(API, **auth)
    other_tenant_client.get(API, **other_auth)
    tenant_client.get(API, **other_auth)  # B's token on A's host is no credential there
    meters.flush_events()
    assert (api_calls(tenant), api_calls(other_tenant)) == (6, 1)
    assert limits.current_usage(organization=other_tenant, metric="api_call") == 1


def test_only_tenant_api_calls_count(db, tenant, tenant_client, platform_client, settings):
    from django_tenants.utils import schema_context

    from tests.chat.factories import InboxFactory

    settings.BILLING_WIDGET_BURST = "100/10s"
    with schema_context(tenant.schema_name):
        key = InboxFactory().public_key
    # the widget's JSON API is API: a session on a real inbox is billed, an unknown key is not
    assert tenant_client.post(f"/api/widget/{key}/sessions", {}, content_type="application/json").status_code == 200
    assert tenant_client.post("/api/widget/nope/sessions", {}, content_type="application/json").status_code == 404
    for path in ("/widget/x/", "/inbox/", "/settings/usage/", "/accounts/login/", "/api/x/", API):
        tenant_client.get(path)
    tenant_client.post("/accounts/login/", {"username": "x@y.z", "password": "x"})
    platform_client.get("/api/x/")  # no tenant: nothing to bill
    assert UsageEvent.objects.filter(metric="api_call").count() == 1 == api_calls(tenant)


def test_unlimited_plans_and_disabled_limits_still_bill(db, tenant, tenant_client, settings):
    put_on(Plan.objects.get(code="white-label"), tenant)  # no API rules at all
    auth = bearer(api_token(tenant))
    tenant_client.get(API, **auth)
    settings.RATELIMIT_ENABLE = False
    tenant_client.get(API, **auth)
    assert api_calls(tenant) == 2


def _through_middleware(tenant, status: int, edge_counted: bool, authenticated: bool = True):
    request = RequestFactory().get("/api/x/")
    request.tenant = tenant
    if edge_counted:
        request.scope = {SCOPE_COUNTED: True}

    def view(request):
        if authenticated:
            api_call_authenticated(request)
        return HttpResponse("x", status=status)

    return RateLimitMiddleware(view)(request)


def test_edge_counted_calls_are_billed_once_and_server_errors_not_at_all(db, tenant):
    assert _through_middleware(tenant, 200, edge_counted=True).status_code == 200
    assert _through_middleware(tenant, 404, edge_counted=False).status_code == 404
    assert _through_middleware(tenant, 500, edge_counted=True).status_code == 500
    assert _through_middleware(tenant, 503, edge_counted=False).status_code == 503
    assert _through_middleware(tenant, 429, edge_counted=True).status_code == 429  # a view's own refusal
    assert _through_middleware(tenant, 200, edge_counted=True, authenticated=False).status_code == 200
    assert _through_middleware(tenant, 401, edge_counted=False, authenticated=False).status_code == 401
    assert api_calls(tenant) == 2


def test_record_later_validates_and_dedupes(db, tenant, deferred):
    with pytest.raises(meters.RecordError):
        meters.record_later(organization=tenant, metric="nope", idempotency_key="k")
    with pytest.raises(meters.RecordError):
        meters.record_later(organization=tenant, metric="api_call", idempotency_key=" ")
    with pytest.raises(meters.RecordError):
        meters.record_later(organization=None, metric="api_call", idempotency_key="k")
    for _ in range(3):
        meters.record_later(organization=tenant, metric="api_call", idempotency_key="api:same")
    assert meters.flush_events() == 1
    assert api_calls(tenant) == 1


def test_a_full_queue_is_written_at_once_off_the_callers_thread(live_db, tenant, settings, monkeypatch):
    import time

    settings.BILLING_COUNTER_DEFER_SECONDS = 60  # only a full queue can make it flush within the test
    monkeypatch.setattr(meters, "MAX_PENDING_EVENTS", 10)
    writers = []
    real_insert = meters._insert

    def insert(events):
        writers.append(threading.current_thread())
        return real_insert(events)

    monkeypatch.setattr(meters, "_insert", insert)
    try:
        for i in range(10):
            meters.record_later(organization=tenant, metric="api_call", idempotency_key=f"api:full:{i}")
        deadline = time.monotonic() + 10
        while api_calls(tenant) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api_calls(tenant) == 10 and meters.pending_events() == 0
        assert writers and threading.current_thread() not in writers
    finally:
        meters.flush_events()


def test_events_of_a_vanished_organization_do_not_sink_the_batch(live_db, tenant, other_tenant, settings):
    """Committed (live): the ledger's foreign key is checked when the INSERT commits."""
    settings.BILLING_COUNTER_DEFER_SECONDS = 60
    try:
        for i in range(3):
            meters.record_later(organization=tenant, metric="api_call", idempotency_key=f"api:live:{i}")
        gone = get_tenant_model()(pk=10**9, schema_name="t_gone")
        meters.record_later(organization=gone, metric="api_call", idempotency_key="api:gone:1")
        meters.record_later(organization=other_tenant, metric="api_call", idempotency_key="api:live:b")
        assert meters.flush_events() == 4
        assert meters.pending_events() == 0
        assert (api_calls(tenant), api_calls(other_tenant)) == (3, 1)
    finally:
        meters.flush_events()


def test_the_background_flush_writes_the_batch(live_db, tenant, tenant_client, settings):
    import time

    settings.BILLING_COUNTER_DEFER_SECONDS = 0.05
    auth = bearer(api_token(tenant))
    for _ in range(5):
        tenant_client.get(API, **auth)
    deadline = time.monotonic() + 5
    while api_calls(tenant) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api_calls(tenant) == 5 and meters.pending_events() == 0
