"""Rate limits per tenant and plan. Billing decides the rules (rules.py: which windows a
request falls under, from the tenant's plan), applies them in Django (middleware.py, and the
api_call meter) and throttles the human-facing views (throttles.py, django-ratelimit).
The mechanics live below the apps in orbit.lib.ratelimit (one-round-trip counter, client IP,
429 answers); orbit.edge applies the API and widget rules before Django; chat limits its own
websocket frames (chat.consumers.base.FrameLimiter).

Import from here: `from billing.ratelimit import api_call_authenticated, throttle, per_ip, …`."""

from billing.ratelimit.middleware import RateLimitMiddleware, meter_api_call
from billing.ratelimit.rules import (
    API_PREFIX,
    DEFAULT_BAD_CREDENTIALS_RATE,
    EDGE_PREFIXES,
    JSON_PREFIXES,
    SCOPE_AUTHENTICATED,
    SCOPE_COUNTED,
    WIDGET_PREFIXES,
    api_call_authenticated,
    api_group,
    bad_credentials_rule,
    charged_rules,
    is_authenticated_call,
    is_token_api,
    refusal,
    rules_for,
    tenant_rules,
    too_many_requests,
)
from billing.ratelimit.throttles import ViewLimit, per_account, per_ip, person, posted, throttle
from orbit.lib.ratelimit.client_ip import client_ip, client_ip_from, scope_client_ip
from orbit.lib.ratelimit.counter import (
    Outcome,
    Rule,
    check,
    check_async,
    enabled,
    full,
    peek,
    peek_async,
    tightest,
)
from orbit.lib.ratelimit.responses import header_pairs, too_many_attempts_page

__all__ = [
    "API_PREFIX", "DEFAULT_BAD_CREDENTIALS_RATE", "EDGE_PREFIXES", "JSON_PREFIXES", "SCOPE_AUTHENTICATED",
    "SCOPE_COUNTED", "WIDGET_PREFIXES", "Outcome", "RateLimitMiddleware", "Rule", "ViewLimit",
    "api_call_authenticated", "api_group", "bad_credentials_rule", "charged_rules", "check", "check_async",
    "client_ip", "client_ip_from", "enabled", "full", "header_pairs", "is_authenticated_call", "is_token_api",
    "meter_api_call", "peek", "peek_async", "per_account", "per_ip", "person", "posted", "refusal", "rules_for",
    "scope_client_ip", "tenant_rules", "throttle", "tightest", "too_many_attempts_page", "too_many_requests",
]
