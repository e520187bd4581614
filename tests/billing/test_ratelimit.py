"""Rate limits per tenant and plan: 429 with Retry-After and RateLimit headers; login
attempts per account and IP; websocket frames per connection."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import get_tenant_model

from billing import services
from billing.models import Plan
from chat.consumers.base import FrameLimiter
from tests.billing.test_api_bad_credentials import api_token, bearer
from tests.conftest import host_client

API = "/api/v1/conversations"  # a real token-API view: only calls it authenticates spend the quota


@pytest.fixture
def tight_plan(db):
    return Plan.objects.create(code="tight", name="Tight", api_requests_per_minute=5, api_burst=3)


def put_on(plan, *orgs):
    get_tenant_model().objects.filter(pk__in=[o.pk for o in orgs]).update(plan=plan)
    services.limits_profile_forget(organization_ids=[o.pk for o in orgs])


def test_api_burst_then_minute_window_refuse_with_headers(tight_plan, tenant, tenant_client, settings):
    put_on(tight_plan, tenant)
    auth = bearer(api_token(tenant))
    statuses = [tenant_client.get(API, **auth).status_code for _ in range(3)]
    assert 429 not in statuses
    ok = tenant_client.get(API, REMOTE_ADDR="10.0.0.9", **auth)  # the key is the tenant, not the IP
    assert ok.status_code == 429
    assert int(ok["Retry-After"]) >= 1
    assert ok["RateLimit-Policy"] == f'"minute";q=5;w=60, "burst";q=3;w={settings.BILLING_BURST_WINDOW_SECONDS}'
    assert re.fullmatch(r'"burst";r=0;t=\d+', ok["RateLimit"])
    assert ok.json()["error"] == "rate_limited"


def test_allowed_api_responses_carry_the_headers(db, tenant, tenant_client):
    response = tenant_client.get(API, **bearer(api_token(tenant)))
    assert response.status_code != 429
    assert response["RateLimit-Policy"].startswith('"minute";q=300;w=60')
    assert re.fullmatch(r'"(minute|burst)";r=\d+;t=\d+', response["RateLimit"])


def test_minute_window_on_top_of_the_burst(db, tenant, tenant_client):
    plan = Plan.objects.create(code="minute", name="Minute", api_requests_per_minute=4, api_burst=100)
    put_on(plan, tenant)
    auth = bearer(api_token(tenant))
    codes = [tenant_client.get(API, **auth).status_code for _ in range(5)]
    assert codes[-1] == 429 and 429 not in codes[:4]


def test_unlimited_plan_has_no_api_limit(db, tenant, tenant_client):
    put_on(Plan.objects.get(code="white-label"), tenant)
    auth = bearer(api_token(tenant))
    assert all(tenant_client.get(API, **auth).status_code != 429 for _ in range(50))


def test_tenant_a_hammering_never_limits_tenant_b(tight_plan, tenant, other_tenant, tenant_client, other_tenant_client):
    put_on(tight_plan, tenant, other_tenant)
    auth, other_auth = bearer(api_token(tenant)), bearer(api_token(other_tenant))
    assert [tenant_client.get(API, **auth).status_code for _ in range(30)].count(429) == 27
    assert [other_tenant_client.get(API, **other_auth).status_code for _ in range(3)].count(429) == 0


@pytest.mark.parametrize("prefix", ["/widget/", "/api/widget/"])
def test_widget_is_limited_per_tenant_and_visitor_ip(db, tenant, tenant_client, settings, prefix):
    settings.BILLING_WIDGET_BURST = "2/10s"
    assert tenant_client.get(prefix + "x/", REMOTE_ADDR="1.1.1.1").status_code != 429
    assert tenant_client.get(prefix + "x/", REMOTE_ADDR="1.1.1.1").status_code != 429
    refused = tenant_client.get(prefix + "x/", REMOTE_ADDR="1.1.1.1")
    assert refused.status_code == 429 and refused["Retry-After"] and refused["RateLimit-Policy"]
    assert tenant_client.get(prefix + "x/", REMOTE_ADDR="2.2.2.2").status_code != 429


def test_login_attempts_per_account_and_per_ip(db, tenant, other_tenant, settings):
    settings.BILLING_LOGIN_ACCOUNT_RATE = "3/5m"
    settings.BILLING_LOGIN_IP_RATE = "5/5m"
    host = tenant.domains.get(is_primary=True).domain
    client = host_client(host)
    data = {"username": "owner@alpha.example.com", "password": "wrong"}
    codes = [client.post("/accounts/login/", data, REMOTE_ADDR=f"10.0.0.{i}").status_code for i in range(4)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429  # per account, whatever the IP
    refused = client.post("/accounts/login/", data, REMOTE_ADDR="10.0.0.99")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert refused["RateLimit"].startswith('"login-account";r=0')
    # per IP, across accounts
    codes = [client.post("/accounts/login/", {"username": f"u{i}@x.com", "password": "x"}, REMOTE_ADDR="10.1.1.1").status_code
             for i in range(6)]
    assert codes[5] == 429 and 429 not in codes[:5]
    # the same account on another tenant is another key
    other = host_client(other_tenant.domains.get(is_primary=True).domain)
    assert other.post("/accounts/login/", data, REMOTE_ADDR="10.0.0.1").status_code == 200
    # GETs of the page are not attempts
    assert client.get("/accounts/login/").status_code == 200


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_frame_limiter_is_a_token_bucket():
    clock = Clock()
    limiter = FrameLimiter(rate=2, burst=3, clock=clock)
    assert [limiter.check(ref=i) for i in range(3)] == [None, None, None]
    error = limiter.check(ref="c-1")
    assert error["type"] == "error" and error["code"] == "rate_limited" and error["ref"] == "c-1"
    assert error["retry_after"] == pytest.approx(0.5)
    clock.now = 0.5
    assert limiter.allow() and not limiter.allow()
    clock.now = 100
    assert sum(limiter.allow() for _ in range(10)) == 3  # refills only up to the burst
    assert limiter.refused == 9


def test_frame_limiters_are_per_connection():
    clock = Clock()
    a, b = FrameLimiter(rate=1, burst=1, clock=clock), FrameLimiter(rate=1, burst=1, clock=clock)
    assert a.allow() and not a.allow()
    assert b.allow()


def test_frame_limiter_refuses_bad_settings():
    with pytest.raises(ValueError):
        FrameLimiter(rate=0, burst=1)


# --- one round trip, fail-open, and the ASGI edge (orbit.edge) ---------------------------


def test_both_windows_are_counted_in_one_redis_round_trip(tight_plan, tenant, tenant_client, monkeypatch):
    from redis.commands.core import Script

    put_on(tight_plan, tenant)
    calls = []
    real = Script.__call__
    auth = bearer(api_token(tenant))
    monkeypatch.setattr(Script, "__call__", lambda self, *a, **kw: calls.append(1) or real(self, *a, **kw))
    response = tenant_client.get(API, **auth)
    assert response.status_code != 429 and response["RateLimit-Policy"].count(";q=") == 2
    assert len(calls) == 1


def test_counters_are_per_tenant_keys_built_with_the_schema(tight_plan, tenant, other_tenant):
    from billing import cache_keys, ratelimit

    rules = ratelimit.tenant_rules(schema=tenant.schema_name, organization_id=tenant.pk, path="/api/x/", ip="1.1.1.1",
                                   profile={"api_per_minute": 5, "api_burst": 3})
    other = ratelimit.tenant_rules(schema=other_tenant.schema_name, organization_id=other_tenant.pk, path="/api/x/",
                                   ip="1.1.1.1", profile={"api_per_minute": 5, "api_burst": 3})
    keys = {r.key(100) for r in rules}
    assert all(tenant.schema_name in k and k.startswith(cache_keys.cache().make_key("billing:rl:")) for k in keys)
    assert not keys & {r.key(100) for r in other}
    for _ in range(4):
        outcomes = ratelimit.check(rules)
    assert outcomes[-1].limited and outcomes[-1].rule.name == "burst"
    assert not ratelimit.check(other)[-1].limited


def test_redis_errors_fail_open(tight_plan, tenant, tenant_client, monkeypatch):
    from redis.commands.core import Script
    from redis.exceptions import ConnectionError as RedisDown

    put_on(tight_plan, tenant)

    def down(*_a, **_kw):
        raise RedisDown("redis down")

    auth = bearer(api_token(tenant))
    monkeypatch.setattr(Script, "__call__", down)
    assert all(tenant_client.get(API, **auth).status_code != 429 for _ in range(10))


def _asgi_get(app, host: str, path: str, client_ip: str = "10.0.0.1", headers: tuple = (), authenticated=True):
    """GET through `app` (the edge) to a stand-in for Django whose view accepted the call's
    credential (`authenticated`), as chat's API views say with api_call_authenticated."""
    from asgiref.sync import async_to_sync

    from billing.ratelimit import SCOPE_AUTHENTICATED

    sent, seen = [], []

    async def inner(scope, receive, send):
        seen.append(scope)
        if authenticated:
            scope[SCOPE_AUTHENTICATED] = True
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    async def run():
        await app(inner)({"type": "http", "method": "GET", "path": path, "headers": [(b"host", host.encode()), *headers],
                          "client": (client_ip, 5000), "query_string": b""}, receive, send)

    async_to_sync(run)()
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, sent[1]["body"], seen


SCOPE_FLAG = "orbit.ratelimit.counted"


class _Edge:
    """One RateLimitEdge shared by a test's requests."""

    def __init__(self):
        from orbit.edge import RateLimitEdge

        self.edge = None
        self.cls = RateLimitEdge

    def __call__(self, inner):
        if self.edge is None:
            self.edge = self.cls(inner)
        self.edge.app = inner
        return self.edge


def test_edge_refuses_before_django_with_the_headers(tight_plan, tenant, other_tenant, settings):
    import json

    put_on(tight_plan, tenant, other_tenant)
    edge = _Edge()
    host = tenant.domains.get(is_primary=True).domain
    results = [_asgi_get(edge, host, "/api/x/") for _ in range(4)]
    for status, headers, _body, seen in results[:3]:
        assert status == 200 and seen and seen[0]["orbit.ratelimit.counted"] is True
        assert headers["ratelimit-policy"] == f'"minute";q=5;w=60, "burst";q=3;w={settings.BILLING_BURST_WINDOW_SECONDS}'
    status, headers, body, seen = results[3]
    assert status == 429 and not seen  # Django never entered
    assert int(headers["retry-after"]) >= 1 and re.fullmatch(r'"burst";r=0;t=\d+', headers["ratelimit"])
    assert headers["content-type"] == "application/json" and int(headers["content-length"]) == len(body)
    assert json.loads(body)["error"] == "rate_limited"
    # tenant B's counters are its own
    other_host = other_tenant.domains.get(is_primary=True).domain
    assert _asgi_get(edge, other_host, "/api/x/")[0] == 200


def test_edge_refuses_from_memory_until_the_window_ends(tight_plan, tenant, other_tenant, monkeypatch):
    """Once a tenant's window is full, the rest of it is refused without a Redis round trip;
    the window's end sends it back to Redis; another tenant is never refused from memory."""
    from orbit import edge as edge_module
    from orbit.lib.ratelimit import counter as ratelimit  # the edge counts with orbit.lib.ratelimit

    put_on(tight_plan, tenant, other_tenant)
    calls = []
    real_check, real_peek = ratelimit.check_async, ratelimit.peek_async

    async def counting(rules, client):
        calls.append(rules[0].schema)
        return await real_check(rules, client)

    async def peeking(rules, client):
        calls.append(rules[0].schema)
        return await real_peek(rules, client)

    monkeypatch.setattr(ratelimit, "check_async", counting)
    monkeypatch.setattr(ratelimit, "peek_async", peeking)
    edge = _Edge()
    host = tenant.domains.get(is_primary=True).domain
    statuses = [_asgi_get(edge, host, "/api/x/")[0] for _ in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]
    # a read and a count per call let through; the one that filled the window is remembered,
    # so the 4th to 6th never reached Redis
    assert calls.count(tenant.schema_name) == 6
    status, headers, body, seen = _asgi_get(edge, host, "/api/x/")
    assert status == 429 and not seen and int(headers["retry-after"]) >= 1 and b"rate_limited" in body
    other_host = other_tenant.domains.get(is_primary=True).domain
    assert _asgi_get(edge, other_host, "/api/x/")[0] == 200
    # past the window's end: back to Redis (whose own window has moved on too)
    later = edge_module.time.time() + 3600
    monkeypatch.setattr(edge_module.time, "time", lambda: later)
    before = calls.count(tenant.schema_name)
    _asgi_get(edge, host, "/api/x/")
    assert calls.count(tenant.schema_name) == before + 2


def test_edge_counted_requests_are_not_counted_again_by_the_middleware(tight_plan, tenant):
    from django.http import HttpResponse
    from django.test import RequestFactory

    from billing.ratelimit import SCOPE_COUNTED, RateLimitMiddleware

    put_on(tight_plan, tenant)
    request = RequestFactory().get("/api/x/")
    request.tenant = tenant
    request.scope = {SCOPE_COUNTED: True}
    middleware = RateLimitMiddleware(lambda r: HttpResponse("ok"))
    assert all(middleware(request).status_code == 200 for _ in range(10))


def test_edge_widget_per_visitor_ip_and_passes_other_traffic(db, tenant, settings):
    settings.BILLING_WIDGET_BURST = "1/10s"
    edge = _Edge()
    host = tenant.domains.get(is_primary=True).domain
    assert _asgi_get(edge, host, "/widget/x/", "1.1.1.1")[0] == 200
    assert _asgi_get(edge, host, "/widget/x/", "1.1.1.1")[0] == 429
    assert _asgi_get(edge, host, "/widget/x/", "2.2.2.2")[0] == 200
    # not limited at the edge: other paths, platform and unknown hosts (Django decides)
    status, headers, _b, seen = _asgi_get(edge, host, "/accounts/login/")
    assert status == 200 and "ratelimit" not in headers and SCOPE_FLAG not in seen[0]
    for other_host in ("127.0.0.1", "nobody.example.org"):
        status, headers, _b, seen = _asgi_get(edge, other_host, "/api/x/")
        assert status == 200 and "ratelimit" not in headers and SCOPE_FLAG not in seen[0]



def test_edge_widget_limit_keys_on_the_proxys_client_header_when_configured(db, tenant, settings):
    settings.BILLING_WIDGET_BURST = "1/10s"
    edge = _Edge()
    host = tenant.domains.get(is_primary=True).domain
    proxy = "10.9.9.9"  # every request arrives from the proxy
    # unset: the header is the client's to forge, so only the connection's address counts
    assert _asgi_get(edge, host, "/widget/a/", proxy, ((b"x-real-ip", b"3.3.3.3"),))[0] == 200
    assert _asgi_get(edge, host, "/widget/a/", proxy, ((b"x-real-ip", b"4.4.4.4"),))[0] == 429
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = "X-Real-IP"
    assert _asgi_get(edge, host, "/widget/a/", proxy, ((b"x-real-ip", b"5.5.5.5"),))[0] == 200
    assert _asgi_get(edge, host, "/widget/a/", proxy, ((b"x-real-ip", b"6.6.6.6"),))[0] == 200
    assert _asgi_get(edge, host, "/widget/a/", proxy, ((b"x-real-ip", b"6.6.6.6"),))[0] == 429


def test_edge_fails_open_on_redis_errors(tight_plan, tenant, monkeypatch):
    from orbit.edge import RateLimitEdge

    put_on(tight_plan, tenant)

    class Broken:
        def register_script(self, _script):
            async def run(**_kw):
                raise ConnectionError("redis down")

            return run

        async def mget(self, _keys):
            raise ConnectionError("redis down")

    monkeypatch.setattr(RateLimitEdge, "_redis", lambda self: Broken())
    edge = _Edge()
    host = tenant.domains.get(is_primary=True).domain
    assert all(_asgi_get(edge, host, "/api/x/")[0] == 200 for _ in range(6))
