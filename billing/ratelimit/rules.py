"""Billing's rate-limit rules: which windows a request falls under, by the tenant's plan.

* /api/…     — per tenant: the plan's requests per minute plus a burst window
               (settings.BILLING_BURST_WINDOW_SECONDS); an empty plan value = unlimited.
               Only calls whose credential checked out spend it (the view says so:
               `api_call_authenticated`); the others count per tenant and client IP
               (BILLING_API_BAD_CREDENTIALS_RATE), so bad tokens cannot spend a tenant's quota.
* /widget/…, /api/widget/… — per tenant and visitor IP: BILLING_WIDGET_RATE + BILLING_WIDGET_BURST.
* login      — POSTs to BILLING_LOGIN_PATHS, per tenant and account (the submitted
               username) and per tenant and IP.

Counting, client addresses and the 429 are orbit.lib.ratelimit's (below the apps)."""

from __future__ import annotations

from django.conf import settings

from billing import selectors
from orbit.lib.ratelimit import responses
from orbit.lib.ratelimit.client_ip import client_ip
from orbit.lib.ratelimit.counter import Outcome, Rule, rate_rule

API_PREFIX = "/api/"
WIDGET_PREFIXES = ("/widget/", "/api/widget/")  # before /api/: visitors are limited per IP
EDGE_PREFIXES = (API_PREFIX, "/widget/")  # what orbit.edge counts before Django
SCOPE_COUNTED = "orbit.ratelimit.counted"  # ASGI scope flag: the edge already counted this request
SCOPE_AUTHENTICATED = "orbit.api.authenticated"  # ASGI scope flag: the view accepted the call's credential
# Unauthenticated /api/… calls (no, a wrong or a revoked token) per tenant and client IP.
DEFAULT_BAD_CREDENTIALS_RATE = "30/5m"


def _login_paths() -> tuple[str, ...]:
    return tuple(getattr(settings, "BILLING_LOGIN_PATHS", ("/accounts/login/", "/admin/login/")))
JSON_PREFIXES = (API_PREFIX, *WIDGET_PREFIXES)  # refusals answered in JSON (machines), not a page


def tenant_rules(*, schema: str, organization_id: int, path: str, ip: str, profile: dict | None = None) -> list[Rule]:
    """The API / widget rules of a tenant's request (plain values: usable before Django;
    pass the limits `profile` when already at hand, else it is read)."""
    if path.startswith(WIDGET_PREFIXES):
        return [
            rate_rule("widget", schema, "widget", ip, settings.BILLING_WIDGET_RATE),
            rate_rule("burst", schema, "widget", ip, settings.BILLING_WIDGET_BURST),
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
    return rate_rule("bad-credentials", schema, "api-bad-credentials", ip, rate)


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
        rules = [rate_rule("login-ip", schema, "login-ip", client_ip(request), settings.BILLING_LOGIN_IP_RATE)]
        if account:
            rules.append(rate_rule("login-account", schema, "login-account", account, settings.BILLING_LOGIN_ACCOUNT_RATE))
        return rules
    return []


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


def refusal(path: str, rules: list[Rule], outcome: Outcome, language: str | None = None) -> tuple[list, bytes]:
    """The 429's headers (bytes pairs, ASGI-ready) and body for a request to `path`."""
    return responses.refusal(rules, outcome, as_json=path.startswith(JSON_PREFIXES), language=language)


def too_many_requests(request, rules: list[Rule], outcome: Outcome):
    return responses.too_many_requests(request, rules, outcome, for_machines=request.path.startswith(JSON_PREFIXES))
