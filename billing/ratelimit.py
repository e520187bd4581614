"""Rate limits per tenant and plan (fixed windows on the shared Redis cache). The websocket
frame limit is chat's (chat.consumers.base.FrameLimiter).

`RateLimitMiddleware` (settings.MIDDLEWARE, right after the tenant routing middleware):

* /api/…     — per tenant: the plan's requests per minute plus a burst window
               (settings.BILLING_BURST_WINDOW_SECONDS); an empty plan value = unlimited.
               Only calls whose credential checked out spend it (the view says so:
               `api_call_authenticated`); the others count per tenant and client IP
               (BILLING_API_BAD_CREDENTIALS_RATE), so bad tokens cannot spend a tenant's quota.
* /widget/…, /api/widget/… — per tenant and visitor IP: BILLING_WIDGET_RATE + BILLING_WIDGET_BURST.
* login      — POSTs to BILLING_LOGIN_PATHS, per tenant and account (the submitted
               username) and per tenant and IP.

Under ASGI the API and widget rules are applied before Django is entered
(orbit.edge.RateLimitEdge, with `check_async`); the middleware then only handles what the
edge did not count (login, the test client, a request the edge let through uncounted).

All the windows of a request are counted in ONE Redis round trip (a Lua script: INCR +
EXPIRE per window, stopping at the first window that refuses, as django-ratelimit's
fixed windows did: same jitter, same `count > quota` rule). Every key is built in
billing.cache_keys.ratelimit_counter with the tenant's schema. A Redis error fails open
(settings.RATELIMIT_FAIL_OPEN).

A refusal is a 429 with Retry-After, RateLimit and RateLimit-Policy headers (IETF
draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "minute";q=300;w=60, "burst";q=60;w=10`,
`RateLimit: "burst";r=0;t=7`), built without templates or queries; allowed API responses
carry the same headers."""

from __future__ import annotations

import ipaddress
import json
import logging
import time
import uuid
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django_ratelimit.core import _split_rate, get_usage
from django_ratelimit.decorators import ratelimit

from billing import cache_keys, meters, metrics, selectors

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
WIDGET_PREFIXES = ("/widget/", "/api/widget/")  # before /api/: visitors are limited per IP
EDGE_PREFIXES = (API_PREFIX, "/widget/")  # what orbit.edge counts before Django
SCOPE_COUNTED = "orbit.ratelimit.counted"  # ASGI scope flag: the edge already counted this request
SCOPE_AUTHENTICATED = "orbit.api.authenticated"  # ASGI scope flag: the view accepted the call's credential
# Unauthenticated /api/… calls (no, a wrong or a revoked token) per tenant and client IP.
DEFAULT_BAD_CREDENTIALS_RATE = "30/5m"


def _login_paths() -> tuple[str, ...]:
    return tuple(getattr(settings, "BILLING_LOGIN_PATHS", ("/accounts/login/", "/admin/login/")))


@dataclass(frozen=True)
class Rule:
    name: str  # the policy name in the headers
    schema: str  # the tenant, in every key
    scope: str  # api, widget, login-ip, login-account
    ident: str  # visitor IP, account, or ""
    quota: int
    window: int  # seconds

    def window_end(self, now: int) -> int:
        """End of the current fixed window, with a per-key jitter (django-ratelimit's rule)."""
        if self.window == 1:
            return now
        value = cache_keys.ratelimit_value(schema=self.schema, scope=self.scope, ident=self.ident)
        end = now - (now % self.window) + (zlib.crc32(f"{self.name}{value}".encode()) % self.window)
        return end + self.window if end < now else end

    def key(self, window_end: int) -> str:
        return cache_keys.cache().make_key(cache_keys.ratelimit_counter(
            schema=self.schema, scope=self.scope, ident=self.ident, policy=self.name, quota=self.quota,
            window=self.window, window_end=window_end))


@dataclass
class Outcome:
    rule: Rule
    remaining: int
    reset: int
    limited: bool


# --- the client's address ----------------------------------------------------------------


def _address(value: str) -> str | None:
    """A normalised IP address out of a header entry ("1.2.3.4", "1.2.3.4:5678",
    "[2001:db8::1]:443", "2001:db8::1"), or None."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


@lru_cache(maxsize=16)
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def client_ip_from(*, remote_addr: str | None, header_value: str | None) -> str:
    """THE client address of the per-IP limits. `header_value` is the request's
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER header (all of its lines joined by commas); with
    the setting unset, or no usable header, it is the connection's address (REMOTE_ADDR).
    X-Forwarded-For: the right-most address that is not one of ORBIT_TRUSTED_PROXIES (what
    a client writes is on the left, so it cannot choose its own key); any other header
    (X-Real-IP): its last value. Anything that is not an IP address falls back too."""
    fallback = remote_addr or "-"
    name = getattr(settings, "ORBIT_TRUSTED_PROXY_IP_HEADER", None)
    if not name or not header_value or not header_value.strip():
        return fallback
    entries = [entry for entry in header_value.split(",") if entry.strip()]
    if name.lower() != "x-forwarded-for":
        return _address(entries[-1]) or fallback
    trusted = _networks(tuple(getattr(settings, "ORBIT_TRUSTED_PROXIES", ())))
    address = None
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            return fallback
        if not any(ipaddress.ip_address(address) in network for network in trusted):
            return address
    return address or fallback  # all trusted: the client is one of our proxies


def client_ip(request) -> str:
    """client_ip_from() for a Django request."""
    name = getattr(settings, "ORBIT_TRUSTED_PROXY_IP_HEADER", None)
    header = request.META.get("HTTP_" + name.upper().replace("-", "_")) if name else None
    return client_ip_from(remote_addr=request.META.get("REMOTE_ADDR"), header_value=header)


def scope_client_ip(scope) -> str:
    """client_ip_from() for an ASGI scope (the edge's per-IP widget limit)."""
    name = getattr(settings, "ORBIT_TRUSTED_PROXY_IP_HEADER", None)
    header = None
    if name:
        wanted = name.lower().encode("latin-1")
        values = [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == wanted]
        header = ", ".join(values) or None
    return client_ip_from(remote_addr=(scope.get("client") or (None,))[0], header_value=header)


def _rate(name: str, schema: str, scope: str, ident: str, rate: str) -> Rule:
    quota, window = _split_rate(rate)
    return Rule(name, schema, scope, ident, quota, window)


def tenant_rules(*, schema: str, organization_id: int, path: str, ip: str, profile: dict | None = None) -> list[Rule]:
    """The API / widget rules of a tenant's request (plain values: usable before Django;
    pass the limits `profile` when already at hand, else it is read)."""
    if path.startswith(WIDGET_PREFIXES):
        return [
            _rate("widget", schema, "widget", ip, settings.BILLING_WIDGET_RATE),
            _rate("burst", schema, "widget", ip, settings.BILLING_WIDGET_BURST),
        ]
    if path.startswith(API_PREFIX):
        if profile is None:
            profile = selectors.limits_profile(organization_id=organization_id)
        rules = []
        if profile["api_per_minute"] is not None:
            rules.append(Rule("minute", schema, "api", "", int(profile["api_per_minute"]), 60))
        if profile["api_burst"] is not None:
            window = int(getattr(settings, "BILLING_BURST_WINDOW_SECONDS", 10))
            rules.append(Rule("burst", schema, "api", "", int(profile["api_burst"]), window))
        return rules
    return []


def is_token_api(path: str) -> bool:
    """/api/… calls authenticated by a personal API token (the widget's are per visitor IP)."""
    return path.startswith(API_PREFIX) and not path.startswith(WIDGET_PREFIXES)


def bad_credentials_rule(*, schema: str, ip: str) -> Rule:
    """The window of a tenant's /api/… calls from one client IP that did not authenticate."""
    rate = getattr(settings, "BILLING_API_BAD_CREDENTIALS_RATE", DEFAULT_BAD_CREDENTIALS_RATE)
    return _rate("bad-credentials", schema, "api-bad-credentials", ip, rate)


def api_call_authenticated(request) -> None:
    """A tenant API view calls this once the call's credential checked out: only such calls
    spend the tenant's API rate limit and are metered as api_call; the others count against
    the client IP's bad-credentials window. Marks the request and, under ASGI, its scope
    (which orbit.edge reads when the response starts)."""
    request.api_authenticated = True
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        scope[SCOPE_AUTHENTICATED] = True


def is_authenticated_call(request) -> bool:
    return bool(getattr(request, "api_authenticated", False))


def rules_for(request) -> list[Rule]:
    """The rules a request falls under; keys built in cache_keys, with the tenant in each."""
    tenant = getattr(request, "tenant", None)
    schema = getattr(tenant, "schema_name", None) or "public"
    path = request.path
    if tenant is not None and path.startswith(EDGE_PREFIXES):
        return tenant_rules(schema=schema, organization_id=tenant.pk, path=path, ip=client_ip(request))
    if request.method == "POST" and path in _login_paths():
        account = (request.POST.get("username") or "").strip().lower()
        rules = [_rate("login-ip", schema, "login-ip", client_ip(request), settings.BILLING_LOGIN_IP_RATE)]
        if account:
            rules.append(_rate("login-account", schema, "login-account", account, settings.BILLING_LOGIN_ACCOUNT_RATE))
        return rules
    return []


# --- counting: every window in one round trip ------------------------------------------

# KEYS: one counter per window; ARGV: their TTLs, then their quotas. Counts in order and
# stops after the first window that refuses (the later ones are not charged).
COUNT_SCRIPT = """
local n = #KEYS
local out = {}
for i = 1, n do
  local c = redis.call('INCR', KEYS[i])
  if c == 1 then redis.call('EXPIRE', KEYS[i], tonumber(ARGV[i])) end
  out[i] = c
  if c > tonumber(ARGV[n + i]) then break end
end
return out
"""


def enabled() -> bool:
    return getattr(settings, "RATELIMIT_ENABLE", True)


def _prepare(rules: list[Rule]) -> tuple[int, list[int], list[str], list[int]]:
    now = int(time.time())
    ends = [r.window_end(now) for r in rules]
    keys = [r.key(end) for r, end in zip(rules, ends, strict=True)]
    args = [max(1, end - now) + 1 for end in ends] + [r.quota for r in rules]
    return now, ends, keys, args


def _outcomes(rules: list[Rule], now: int, ends: list[int], counts) -> list[Outcome]:
    outcomes = []
    for rule, end, count in zip(rules, ends, counts, strict=False):
        count = int(count)
        outcomes.append(Outcome(rule, max(0, rule.quota - count), max(1, end - now), count > rule.quota))
    return outcomes


def _failed(rules: list[Rule], exc: Exception) -> list[Outcome]:
    if getattr(settings, "RATELIMIT_FAIL_OPEN", True):
        log.warning("rate limit check failed open: %s", exc)
        return []
    rule = rules[0]
    return [Outcome(rule, 0, rule.window, True)]


def _peeked(rules: list[Rule], now: int, ends: list[int], counts) -> list[Outcome]:
    outcomes = []
    for rule, end, count in zip(rules, ends, counts, strict=True):
        count = int(count or 0)
        outcomes.append(Outcome(rule, max(0, rule.quota - count), max(1, end - now), count >= rule.quota))
    return outcomes


def peek(rules: list[Rule]) -> list[Outcome]:
    """The windows' counts without counting (one MGET): `limited` when a window is already
    full, so the next call would go over. [] when disabled or failed open."""
    if not rules or not enabled():
        return []
    now, ends, keys, _args = _prepare(rules)
    try:
        counts = cache_keys.cache().client.get_client(write=False).mget(keys)
    except Exception as exc:  # noqa: BLE001
        return _failed(rules, exc)
    return _peeked(rules, now, ends, counts)


async def peek_async(rules: list[Rule], redis_client) -> list[Outcome]:
    """`peek` on an asyncio Redis client (orbit.edge)."""
    if not rules or not enabled():
        return []
    now, ends, keys, _args = _prepare(rules)
    try:
        counts = await redis_client.mget(keys)
    except Exception as exc:  # noqa: BLE001
        return _failed(rules, exc)
    return _peeked(rules, now, ends, counts)


def full(outcomes: list[Outcome]) -> Outcome | None:
    """The first outcome whose window refuses, if any."""
    return next((o for o in outcomes if o.limited), None)


def api_group(rules: list[Rule], guard: Rule, refusing: Outcome) -> list[Rule]:
    """The rules a refusal's headers describe: the guard's own, or the tenant's."""
    return [guard] if refusing.rule == guard else rules


def charged_rules(*, rules: list[Rule], guard: Rule, authenticated: bool, status: int) -> list[Rule]:
    """What a token-API call that went through is counted against, once its response is
    known: the tenant's windows when it authenticated, else the client IP's bad-credentials
    window (a view's own 429 is counted nowhere)."""
    if authenticated:
        return rules
    return [] if status == 429 else [guard]


_sync_scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check(rules: list[Rule]) -> list[Outcome]:
    """Count the request against `rules` in one Redis round trip; [] when disabled or
    failed open. The last outcome is the refusing one, if any."""
    if not rules or not enabled():
        return []
    now, ends, keys, args = _prepare(rules)
    try:
        client = cache_keys.cache().client.get_client(write=True)
        script = _sync_scripts.get(client)
        if script is None:
            script = _sync_scripts[client] = client.register_script(COUNT_SCRIPT)
        counts = script(keys=keys, args=args)
    except Exception as exc:  # noqa: BLE001 — any Redis trouble fails open
        return _failed(rules, exc)
    return _outcomes(rules, now, ends, counts)


async def check_async(rules: list[Rule], redis_client) -> list[Outcome]:
    """`check` on an asyncio Redis client (orbit.edge): one round trip, no thread hop."""
    if not rules or not enabled():
        return []
    now, ends, keys, args = _prepare(rules)
    try:
        counts = await _async_script(redis_client)(keys=keys, args=args)
    except Exception as exc:  # noqa: BLE001
        return _failed(rules, exc)
    return _outcomes(rules, now, ends, counts)


_async_scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _async_script(redis_client):
    script = _async_scripts.get(redis_client)
    if script is None:
        script = _async_scripts[redis_client] = redis_client.register_script(COUNT_SCRIPT)
    return script


# --- headers and the refusal -----------------------------------------------------------


def policy_header(rules: list[Rule]) -> str:
    return ", ".join(f'"{r.name}";q={r.quota};w={r.window}' for r in rules)


def ratelimit_header(outcome: Outcome) -> str:
    return f'"{outcome.rule.name}";r={outcome.remaining};t={outcome.reset}'


def tightest(outcomes: list[Outcome]) -> Outcome:
    limited = [o for o in outcomes if o.limited]
    return limited[0] if limited else min(outcomes, key=lambda o: (o.remaining, -o.reset))


def header_pairs(rules: list[Rule], outcome: Outcome) -> list[tuple[str, str]]:
    return [("RateLimit-Policy", policy_header(rules)), ("RateLimit", ratelimit_header(outcome))]


@lru_cache(maxsize=512)
def _refusal_body(policy: str, reset: int, as_json: bool, language: str) -> tuple[bytes, bytes]:
    """(content type, body) of a refusal: built once per policy, seconds and language."""
    with translation.override(language):
        message = _("Muitas requisições. Tente de novo em %(seconds)s s.") % {"seconds": reset}
    if as_json:
        body = {"error": "rate_limited", "detail": message, "policy": policy, "retry_after": reset}
        return b"application/json", json.dumps(body).encode()
    return b"text/plain; charset=utf-8", message.encode()


def refusal(path: str, rules: list[Rule], outcome: Outcome, language: str | None = None) -> tuple[list, bytes]:
    """The 429's headers (bytes pairs, ASGI-ready) and body."""
    as_json = path.startswith((API_PREFIX, *WIDGET_PREFIXES))
    content_type, body = _refusal_body(outcome.rule.name, outcome.reset, as_json,
                                       language or translation.get_language() or settings.LANGUAGE_CODE)
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"retry-after", str(outcome.reset).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in header_pairs(rules, outcome)]
    return headers, body


def too_many_attempts_page(request, seconds: int) -> HttpResponse:
    """The 429 page of a person's form (login, password reset, invitation), in the brand."""
    response = render(request, "429.html", {"seconds": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def too_many_requests(request, rules: list[Rule], outcome: Outcome) -> HttpResponse:
    if not request.path.startswith((API_PREFIX, *WIDGET_PREFIXES)):  # a person at a form: a page
        # before LocaleMiddleware: the browser's language, as that middleware would pick it
        with translation.override(translation.get_language_from_request(request)):
            response = too_many_attempts_page(request, outcome.reset)
        for name, value in header_pairs(rules, outcome):
            response[name] = value
        return response
    headers, body = refusal(request.path, rules, outcome)
    response = HttpResponse(body, status=429, content_type=dict(headers)[b"content-type"].decode())
    response["Retry-After"] = str(outcome.reset)
    for name, value in header_pairs(rules, outcome):
        response[name] = value
    return response


def meter_api_call(request, response) -> None:
    """One `api_call` for a tenant's /api/… request the rate limits let through (here or
    at the edge) and whose credential the view accepted (`api_call_authenticated`), queued
    for the process's next ledger flush (meters.record_later: one multi-row INSERT per
    BILLING_COUNTER_DEFER_SECONDS, not one per request). Unauthenticated calls, refusals
    (429) and server errors (5xx) are not billed. The key is unique per request."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or not request.path.startswith(API_PREFIX) or not is_authenticated_call(request):
        return
    if response.status_code == 429 or response.status_code >= 500:
        return
    try:
        meters.record_later(organization=tenant, metric=metrics.API_CALL,
                            idempotency_key=f"api:{tenant.pk}:{uuid.uuid4().hex}")
    except Exception:  # noqa: BLE001 — metering must never fail the call it meters
        log.warning("could not meter an API call", exc_info=True)


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._limit(request)
        meter_api_call(request, response)  # refusals (429) are not billed
        return response

    def _limit(self, request) -> HttpResponse:
        scope = getattr(request, "scope", None)
        if scope is not None and scope.get(SCOPE_COUNTED):  # orbit.edge counted it (and adds the headers)
            return self.get_response(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None and is_token_api(request.path):
            return self._limit_token_api(request, tenant)
        rules = rules_for(request)
        if not rules:
            return self.get_response(request)
        outcomes = check(rules)
        if outcomes and outcomes[-1].limited:
            return too_many_requests(request, rules, outcomes[-1])
        response = self.get_response(request)
        if outcomes:
            for name, value in header_pairs(rules, tightest(outcomes)):
                response[name] = value
        return response

    def _limit_token_api(self, request, tenant) -> HttpResponse:
        """Refuse if the tenant's windows or the client's bad-credentials window are full;
        count the call once the view has said whether it authenticated (orbit.edge does the
        same before Django)."""
        rules = tenant_rules(schema=tenant.schema_name, organization_id=tenant.pk, path=request.path, ip="")
        guard = bad_credentials_rule(schema=tenant.schema_name, ip=client_ip(request))
        refusing = full(peek([*rules, guard]))
        if refusing is not None:
            return too_many_requests(request, api_group(rules, guard, refusing), refusing)
        response = self.get_response(request)
        charged = charged_rules(rules=rules, guard=guard, authenticated=is_authenticated_call(request),
                                status=response.status_code)
        outcomes = check(charged)
        if outcomes:
            for name, value in header_pairs(charged, tightest(outcomes)):
                response[name] = value
        return response


# --- human-facing views: django-ratelimit decorators -------------------------------------


@dataclass(frozen=True)
class ViewLimit:
    """One django-ratelimit window over a view, per tenant and `ident`: the client's IP, or
    an account read from the request (None or "": this window does not count the request).
    Its rate is the setting `setting` (read per request, so tests and operators can change it)."""

    scope: str  # in the key: password-reset-ip, invite-account, widget-session-ip …
    setting: str
    ident: Callable[..., str | None]

    @property
    def group(self) -> str:
        return f"orbit.{self.scope}"

    def key(self, _group, request) -> str:
        schema = getattr(getattr(request, "tenant", None), "schema_name", None) or "public"
        return cache_keys.ratelimit_value(schema=schema, scope=self.scope, ident=self.ident(request) or "")

    def rate(self, _group, request) -> str | None:
        return getattr(settings, self.setting) if self.ident(request) else None


def per_ip(scope: str, setting: str) -> ViewLimit:
    return ViewLimit(scope=scope, setting=setting, ident=client_ip)


def per_account(scope: str, setting: str, account: Callable[..., str | None]) -> ViewLimit:
    """`account(request)`: the e-mail, person or identity the request is about."""

    def ident(request) -> str | None:
        value = account(request)
        if not isinstance(value, str) or not value.strip():
            return None
        # django-ratelimit hashes the key as UTF-8: a lone surrogate is escaped, never a 500
        return value.strip().lower()[:254].encode("utf-8", "backslashreplace").decode("utf-8")

    return ViewLimit(scope=scope, setting=setting, ident=ident)


def _retry_after(request, limits: tuple[ViewLimit, ...], methods: list[str]) -> int:
    waits = []
    for limit in limits:
        usage = get_usage(request, group=limit.group, key=limit.key, rate=limit.rate, method=methods, increment=False)
        if usage and usage["should_limit"]:
            waits.append(usage["time_left"])
    return max(1, *waits) if waits else 60


def throttle(*limits: ViewLimit, refuse: Callable[..., HttpResponse] | None = None, methods=("POST",)):
    """Limit a view with django-ratelimit's `ratelimit` decorator, once per window (the shared
    cache, settings.RATELIMIT_USE_CACHE; keys with the tenant, cache_keys.ratelimit_value).
    Every window counts the request; once any is over, `refuse(request, seconds)` answers
    instead of the view (default: the 429 page). Only `methods` count (POST: a form shown
    again costs nothing)."""
    methods = list(methods)
    refuse = refuse or too_many_attempts_page

    def decorator(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if getattr(request, "limited", False):
                return refuse(request, _retry_after(request, limits, methods))
            return view(request, *args, **kwargs)

        wrapped = guarded
        for limit in reversed(limits):
            wrapped = ratelimit(group=limit.group, key=limit.key, rate=limit.rate, method=methods, block=False)(wrapped)
        return wrapped

    return decorator


def posted(field: str) -> Callable[..., str | None]:
    """An account read from a form field."""
    return lambda request: request.POST.get(field)


def person(request) -> str | None:
    """The logged-in person (their id: e-mails change)."""
    user = getattr(request, "user", None)
    return f"user:{user.pk}" if user is not None and user.is_authenticated else None
