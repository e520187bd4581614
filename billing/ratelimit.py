"""Rate limits per tenant and plan (django-ratelimit on the shared Redis cache) and the
websocket frame limiter.

`RateLimitMiddleware` (settings.MIDDLEWARE, right after the tenant routing middleware):

* /api/…     — per tenant: the plan's requests per minute plus a burst window
               (settings.BILLING_BURST_WINDOW_SECONDS); an empty plan value = unlimited.
* /widget/…, /api/widget/… — per tenant and visitor IP: BILLING_WIDGET_RATE + BILLING_WIDGET_BURST.
* login      — POSTs to BILLING_LOGIN_PATHS, per tenant and account (the submitted
               username) and per tenant and IP.

Every key carries the tenant's schema explicitly (billing.cache_keys.ratelimit_value).
A refusal is a 429 with Retry-After, RateLimit and RateLimit-Policy headers (IETF
draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "minute";q=300;w=60, "burst";q=60;w=10`,
`RateLimit: "burst";r=0;t=7`); allowed API responses carry the same headers."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django_ratelimit.core import _split_rate, get_usage

from billing import cache_keys, selectors

API_PREFIX = "/api/"
WIDGET_PREFIXES = ("/widget/", "/api/widget/")  # before /api/: visitors are limited per IP


def _login_paths() -> tuple[str, ...]:
    return tuple(getattr(settings, "BILLING_LOGIN_PATHS", ("/accounts/login/", "/admin/login/")))


@dataclass(frozen=True)
class Rule:
    name: str  # the policy name in the headers
    group: str  # django-ratelimit group
    value: str  # carries the tenant
    rate: str  # "300/60s"

    @property
    def quota(self) -> int:
        return _split_rate(self.rate)[0]

    @property
    def window(self) -> int:
        return _split_rate(self.rate)[1]


@dataclass
class Outcome:
    rule: Rule
    remaining: int
    reset: int
    limited: bool


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "-"


def rules_for(request) -> list[Rule]:
    """The rules a request falls under; keys built here, with the tenant in each."""
    tenant = getattr(request, "tenant", None)
    schema = getattr(tenant, "schema_name", None) or "public"
    path = request.path
    if path.startswith(WIDGET_PREFIXES) and tenant is not None:
        value = cache_keys.ratelimit_value(schema=schema, scope="widget", ident=client_ip(request))
        return [
            Rule("widget", "billing.widget", value, _normal(settings.BILLING_WIDGET_RATE)),
            Rule("burst", "billing.widget.burst", value, _normal(settings.BILLING_WIDGET_BURST)),
        ]
    if path.startswith(API_PREFIX) and tenant is not None:
        profile = selectors.limits_profile(organization_id=tenant.pk)
        value = cache_keys.ratelimit_value(schema=schema, scope="api")
        rules = []
        if profile["api_per_minute"] is not None:
            rules.append(Rule("minute", "billing.api.minute", value, f"{profile['api_per_minute']}/60s"))
        if profile["api_burst"] is not None:
            window = getattr(settings, "BILLING_BURST_WINDOW_SECONDS", 10)
            rules.append(Rule("burst", "billing.api.burst", value, f"{profile['api_burst']}/{window}s"))
        return rules
    if request.method == "POST" and path in _login_paths():
        account = (request.POST.get("username") or "").strip().lower()
        rules = [
            Rule("login-ip", "billing.login.ip",
                 cache_keys.ratelimit_value(schema=schema, scope="login-ip", ident=client_ip(request)),
                 _normal(settings.BILLING_LOGIN_IP_RATE)),
        ]
        if account:
            rules.append(Rule("login-account", "billing.login.account",
                              cache_keys.ratelimit_value(schema=schema, scope="login-account", ident=account),
                              _normal(settings.BILLING_LOGIN_ACCOUNT_RATE)))
        return rules
    return []


def _normal(rate: str) -> str:
    count, seconds = _split_rate(rate)
    return f"{count}/{seconds}s"


def evaluate(request, rules: list[Rule]) -> list[Outcome]:
    """Count this request against each rule, stopping at the first that refuses."""
    outcomes = []
    for rule in rules:
        usage = get_usage(request, group=rule.group, key=lambda _g, _r, v=rule.value: v, rate=rule.rate,
                          increment=True)
        if usage is None:  # disabled, or the cache failed open
            continue
        limited = bool(usage["should_limit"])
        outcomes.append(Outcome(rule, max(0, usage["limit"] - usage["count"]), max(1, usage["time_left"]), limited))
        if limited:
            break
    return outcomes


def policy_header(rules: list[Rule]) -> str:
    return ", ".join(f'"{r.name}";q={r.quota};w={r.window}' for r in rules)


def ratelimit_header(outcome: Outcome) -> str:
    return f'"{outcome.rule.name}";r={outcome.remaining};t={outcome.reset}'


def _tightest(outcomes: list[Outcome]) -> Outcome:
    limited = [o for o in outcomes if o.limited]
    return limited[0] if limited else min(outcomes, key=lambda o: (o.remaining, -o.reset))


def too_many_requests(request, rules: list[Rule], outcome: Outcome) -> HttpResponse:
    message = _("Muitas requisições. Tente de novo em %(seconds)s s.") % {"seconds": outcome.reset}
    if request.path.startswith((API_PREFIX, *WIDGET_PREFIXES)):
        response = JsonResponse(
            {"error": "rate_limited", "detail": message, "policy": outcome.rule.name, "retry_after": outcome.reset},
            status=429,
        )
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(outcome.reset)
    response["RateLimit-Policy"] = policy_header(rules)
    response["RateLimit"] = ratelimit_header(outcome)
    return response


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rules = rules_for(request)
        if not rules:
            return self.get_response(request)
        outcomes = evaluate(request, rules)
        if outcomes and outcomes[-1].limited:
            return too_many_requests(request, rules, outcomes[-1])
        response = self.get_response(request)
        if outcomes:
            response["RateLimit-Policy"] = policy_header(rules)
            response["RateLimit"] = ratelimit_header(_tightest(outcomes))
        return response


# --- websocket frames ------------------------------------------------------------------


class FrameLimiter:
    """A token bucket per websocket connection, in memory (a connection lives in one
    process). `rate` frames a second refill up to `burst`.

        limiter = FrameLimiter()                     # settings' defaults
        error = limiter.check(ref=frame.get("client_id"))
        if error:
            await self.send_json(error)              # {"type": "error", "code": "rate_limited", ...}
            return                                   # the connection stays open
    """

    CODE = "rate_limited"

    def __init__(self, rate: float | None = None, burst: int | None = None, *, clock=time.monotonic):
        self.rate = float(rate if rate is not None else settings.BILLING_WS_FRAMES_PER_SECOND)
        self.burst = int(burst if burst is not None else settings.BILLING_WS_FRAME_BURST)
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self._clock = clock
        self._tokens = float(self.burst)
        self._stamp = clock()
        self.refused = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def allow(self, cost: float = 1.0) -> bool:
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        self.refused += 1
        return False

    def retry_after(self, cost: float = 1.0) -> float:
        self._refill()
        return max(0.0, (cost - self._tokens) / self.rate)

    def error_frame(self, ref=None) -> dict:
        wait = self.retry_after()
        return {
            "type": "error",
            "code": self.CODE,
            "message": _("Muitas mensagens em pouco tempo. Aguarde %(seconds).1f s.") % {"seconds": wait},
            "ref": ref,
            "retry_after": round(wait, 3),
        }

    def check(self, ref=None, cost: float = 1.0) -> dict | None:
        """None when the frame may go on; else the error frame to send back."""
        return None if self.allow(cost) else self.error_frame(ref)
