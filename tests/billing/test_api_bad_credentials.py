"""Calls with a bad API token never spend the tenant's API quota nor its `api_call` meter
(issue 12, item 2): only calls whose token the view accepted count against the tenant's
windows and are billed; the others count per tenant and client IP ("bad-credentials")."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django_tenants.utils import get_tenant_model, schema_context

from accounts.models import ApiToken
from billing import cache_keys, meters, ratelimit, services
from billing.models import Plan
from tests.billing.conftest import ledger_count
from tests.factories import owner_email

API = "/api/v1/conversations"
BAD = {"HTTP_AUTHORIZATION": "Bearer orb_not-a-real-token"}


def api_token(org) -> str:
    """A personal API token of the organization's owner."""
    with schema_context(org.schema_name):
        owner = get_user_model().objects.get(email=owner_email(org.slug))
        return ApiToken.objects.issue(user=owner, name="bot")[1]


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def put_on(plan, *orgs):
    get_tenant_model().objects.filter(pk__in=[o.pk for o in orgs]).update(plan=plan)
    services.limits_profile_forget(organization_ids=[o.pk for o in orgs])


@pytest.fixture
def tight(db, tenant, other_tenant, settings):
    settings.BILLING_API_BAD_CREDENTIALS_RATE = "4/5m"
    plan = Plan.objects.create(code="tight", name="Tight", api_requests_per_minute=5, api_burst=3, features=["api"])
    put_on(plan, tenant, other_tenant)
    return plan


def test_bad_tokens_spend_neither_the_tenants_quota_nor_its_meter(tight, tenant, tenant_client):
    token = api_token(tenant)
    bad = [tenant_client.get(API, REMOTE_ADDR="203.0.113.5", **BAD) for _ in range(4)]
    assert [r.status_code for r in bad] == [401] * 4
    assert bad[-1]["RateLimit-Policy"] == '"bad-credentials";q=4;w=300' and bad[-1]["RateLimit"].startswith(
        '"bad-credentials";r=0;')
    # the tenant's integration (another address) still has its whole burst
    good = [tenant_client.get(API, REMOTE_ADDR="198.51.100.7", **bearer(token)) for _ in range(3)]
    assert [r.status_code for r in good] == [200] * 3
    assert good[0]["RateLimit-Policy"].startswith('"minute";q=5;w=60')
    assert tenant_client.get(API, REMOTE_ADDR="198.51.100.7", **bearer(token)).status_code == 429  # its own 4th
    meters.flush_events()
    assert ledger_count(tenant, metric="api_call") == 3


def test_bad_tokens_are_limited_per_client_ip_and_tenant(tight, tenant, other_tenant, tenant_client,
                                                         other_tenant_client):
    for _ in range(4):
        assert tenant_client.get(API, REMOTE_ADDR="203.0.113.5", **BAD).status_code == 401
    refused = tenant_client.get(API, REMOTE_ADDR="203.0.113.5", **BAD)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused.json()["error"] == "rate_limited" and refused["RateLimit"].startswith('"bad-credentials";r=0;')
    # no token at all is no credential either
    assert tenant_client.get(API, REMOTE_ADDR="203.0.113.5").status_code == 429
    # another address, and the same address on another tenant, have their own windows
    assert tenant_client.get(API, REMOTE_ADDR="203.0.113.6", **BAD).status_code == 401
    assert other_tenant_client.get(API, REMOTE_ADDR="203.0.113.5", **BAD).status_code == 401
    meters.flush_events()
    assert ledger_count(metric="api_call") == 0


def test_the_bad_credentials_key_carries_the_tenant(tenant, other_tenant):
    mine = ratelimit.bad_credentials_rule(schema=tenant.schema_name, ip="203.0.113.5")
    theirs = ratelimit.bad_credentials_rule(schema=other_tenant.schema_name, ip="203.0.113.5")
    assert tenant.schema_name in mine.key(100) and "203.0.113.5" in mine.key(100)
    assert mine.key(100).startswith(cache_keys.cache().make_key("billing:rl:")) and mine.key(100) != theirs.key(100)


def test_a_revoked_token_is_a_bad_credential(tight, tenant, tenant_client):
    token = api_token(tenant)
    with schema_context(tenant.schema_name):
        ApiToken.objects.all().delete()
    assert [tenant_client.get(API, REMOTE_ADDR="203.0.113.5", **bearer(token)).status_code for _ in range(5)] == [
        401, 401, 401, 401, 429]
    meters.flush_events()
    assert ledger_count(tenant, metric="api_call") == 0


# --- through the real ASGI application: the edge before Django -----------------------------


def _asgi_get(host: str, path: str, client_ip: str, headers: dict) -> tuple[int, dict, bytes]:
    import asyncio

    from orbit.asgi import application

    sent, requested = [], []

    async def receive():
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        while not any(m["type"] == "http.response.body" and not m.get("more_body") for m in sent):
            await asyncio.sleep(0.005)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", host.encode()), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        "client": (client_ip, 5000), "server": ("127.0.0.1", 8000),
    }
    async_to_sync(application)(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_the_edge_counts_bad_tokens_per_ip_and_good_ones_per_tenant(live_db, tenant, settings):
    settings.BILLING_API_BAD_CREDENTIALS_RATE = "3/5m"
    plan = Plan.objects.create(code="tight-live", name="Tight", api_requests_per_minute=5, api_burst=2,
                               features=["api"])
    try:
        put_on(plan, tenant)
        host = tenant.domains.get(is_primary=True).domain
        token = api_token(tenant)
        bad = {"Authorization": "Bearer orb_wrong"}
        statuses = [_asgi_get(host, API, "203.0.113.5", bad)[0] for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        status, headers, body = _asgi_get(host, API, "203.0.113.5", bad)
        assert status == 429 and json.loads(body)["error"] == "rate_limited"
        assert headers["ratelimit-policy"] == '"bad-credentials";q=3;w=300'
        # the tenant's own calls: its whole burst, then its own refusal
        good = [_asgi_get(host, API, "198.51.100.7", {"Authorization": f"Bearer {token}"}) for _ in range(3)]
        assert [g[0] for g in good] == [200, 200, 429]
        assert good[0][1]["ratelimit-policy"].startswith('"minute";q=5;w=60')
        meters.flush_events()
        assert ledger_count(tenant, metric="api_call") == 2
    finally:
        from orbit.asgi import application

        application.application_mapping["http"].forget_hosts()  # the edge's memory of this plan
        put_on(Plan.objects.get(code="professional"), tenant)
        Plan.objects.filter(code="tight-live").delete()
