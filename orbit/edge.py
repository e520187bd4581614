"""ASGI rate limiting before Django: a noisy tenant's refused API/widget calls cost one
Redis round trip on the event loop, not a trip through Django's request handling (and
its one sync thread per process, where they would queue in front of every other
tenant's requests).

    application = RateLimitEdge(django_asgi_app)     # orbit.routing

For /api/… and /widget/… (billing.ratelimit.EDGE_PREFIXES) on a tenant host, billing's rules
(billing.ratelimit.tenant_rules, from the tenant's plan) are counted here with
orbit.lib.ratelimit (counter.check_async: one Lua call on an asyncio Redis client) and:

* refused → a prebuilt 429 (Retry-After, RateLimit, RateLimit-Policy; no template, no query);
* allowed → passed to Django with scope[SCOPE_COUNTED] set (RateLimitMiddleware does not
  count it again) and the RateLimit headers added to its response.

Token-API calls (/api/… but the widget's) are not counted before Django, which alone knows
whether the token is good: the tenant's windows and the client IP's bad-credentials window
are read (one MGET; a full one refuses), and when the response starts the call is counted
against the tenant's windows if the view accepted its credential (scope[SCOPE_AUTHENTICATED]),
else against the client IP's — so calls with bad tokens never spend the tenant's quota.

Anything else — platform and unknown hosts, suspended tenants (Django answers those), other
paths, login POSTs — goes to Django untouched, where RateLimitMiddleware applies its rules.
Host → tenant is THE resolver, tenants.routing (from its process memory with no I/O when it
answers, else on a database thread); the tenant's limits profile is remembered in-process for
PROFILE_TTL seconds, as billing's in-process profile is. A Redis error fails open."""

from __future__ import annotations

import asyncio
import time
import weakref

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http.request import split_domain_port

from billing import ratelimit, selectors
from orbit.lib.ratelimit import counter, responses
from orbit.lib.ratelimit.client_ip import scope_client_ip
from tenants import routing

PROFILE_TTL = 5.0


def _limits_profile(organization_id: int) -> dict:
    return selectors.limits_profile(organization_id=organization_id)


class RateLimitEdge:
    def __init__(self, app):
        self.app = app
        self._profiles: dict[int, tuple[float, dict]] = {}  # organization id → (expires, limits profile)
        # Rules already over quota → (epoch second their window ends, the refusing rule):
        # until then a request is refused from here, without the Redis round trip (fixed
        # windows only reopen when they end; other processes keep counting on Redis).
        self._refusing: dict[tuple, tuple[int, object]] = {}
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop → Redis client

    def forget_hosts(self) -> None:
        self._profiles.clear()
        self._refusing.clear()

    def _redis(self):
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            import redis.asyncio

            shared = settings.CACHES["shared"]
            timeout = shared.get("OPTIONS", {}).get("socket_timeout", 5)
            client = self._clients[loop] = redis.asyncio.Redis.from_url(
                shared["LOCATION"], socket_timeout=timeout, socket_connect_timeout=timeout)
        return client

    @staticmethod
    async def _refuse(scope, send, rules, outcome) -> None:
        headers, body = ratelimit.refusal(scope["path"], rules, outcome, settings.LANGUAGE_CODE)
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _memo_key(rules) -> tuple:
        return tuple((r.name, r.schema, r.scope, r.ident, r.quota, r.window) for r in rules)

    def _remembered(self, rules, now: int):
        """The refusal of a window known to be full until its end, if any (no Redis trip)."""
        refusing = self._refusing.get(self._memo_key(rules))
        if refusing is not None and refusing[0] > now:
            return counter.Outcome(rule=refusing[1], remaining=0, reset=refusing[0] - now, limited=True)
        return None

    def _remember(self, rules, now: int, outcome) -> None:
        if len(self._refusing) > 10_000:
            self._refusing.clear()
        self._refusing[self._memo_key(rules)] = (now + outcome.reset, outcome.rule)

    async def _token_api(self, scope, receive, send, rules, guard):
        now = int(time.time())
        for group in (rules, [guard]):
            remembered = self._remembered(group, now) if group else None
            if remembered is not None:
                return await self._refuse(scope, send, group, remembered)
        redis_client = self._redis()
        refusing = counter.full(await counter.peek_async([*rules, guard], redis_client))
        if refusing is not None:
            group = ratelimit.api_group(rules, guard, refusing)
            self._remember(group, now, refusing)
            return await self._refuse(scope, send, group, refusing)
        inner = {**scope, ratelimit.SCOPE_COUNTED: True}

        async def send_counted(message):
            if message["type"] == "http.response.start":
                charged = ratelimit.charged_rules(rules=rules, guard=guard, status=message["status"],
                                                  authenticated=bool(inner.get(ratelimit.SCOPE_AUTHENTICATED)))
                outcomes = await counter.check_async(charged, redis_client)
                if outcomes:
                    tightest = counter.tightest(outcomes)
                    if tightest.remaining == 0:  # full now: the next calls are refused from memory
                        self._remember(charged, int(time.time()), tightest)
                    extra = [(k.lower().encode(), v.encode()) for k, v in responses.header_pairs(charged, tightest)]
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        return await self.app(inner, receive, send_counted)

    async def _tenant(self, host: str):
        """(schema, organization id, limits profile) of a tenant host the edge may limit, else None."""
        if not host or routing.is_platform_host(host):
            return None
        organization = await routing.resolve_host_async(host)
        if organization is None or organization.is_blocked:
            return None
        now = time.monotonic()
        entry = self._profiles.get(organization.pk)
        if entry is None or entry[0] <= now:
            if len(self._profiles) > 10_000:
                self._profiles.clear()
            profile = await sync_to_async(_limits_profile, thread_sensitive=True)(organization.pk)
            entry = self._profiles[organization.pk] = (now + PROFILE_TTL, profile)
        return organization.schema_name, organization.pk, entry[1]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(ratelimit.EDGE_PREFIXES) or not counter.enabled():
            return await self.app(scope, receive, send)
        host = ""
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = split_domain_port(value.decode("latin-1").lower())[0]
                break
        try:
            tenant = await self._tenant(host)
        except Exception:  # noqa: BLE001 — routing trouble: let Django answer
            tenant = None
        if tenant is None:
            return await self.app(scope, receive, send)
        schema, organization_id, profile = tenant
        ip = scope_client_ip(scope)
        rules = ratelimit.tenant_rules(schema=schema, organization_id=organization_id, path=scope["path"], ip=ip,
                                       profile=profile)
        if ratelimit.is_token_api(scope["path"]):
            guard = ratelimit.bad_credentials_rule(schema=schema, ip=ip)
            return await self._token_api(scope, receive, send, rules, guard)
        if not rules:
            return await self.app(scope, receive, send)
        now = int(time.time())
        remembered = self._remembered(rules, now)
        if remembered is not None:
            return await self._refuse(scope, send, rules, remembered)
        outcomes = await counter.check_async(rules, self._redis())
        if not outcomes:  # failed open: let it through, uncounted, without a second try in Django
            return await self.app({**scope, ratelimit.SCOPE_COUNTED: True}, receive, send)
        if outcomes[-1].limited:
            self._remember(rules, now, outcomes[-1])
            return await self._refuse(scope, send, rules, outcomes[-1])
        extra = [(k.lower().encode(), v.encode()) for k, v in responses.header_pairs(rules, counter.tightest(outcomes))]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        return await self.app({**scope, ratelimit.SCOPE_COUNTED: True}, receive, send_with_headers)
