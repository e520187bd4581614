"""RateLimitMiddleware (settings.MIDDLEWARE, right after the tenant routing middleware) and
the api_call meter.

Under ASGI the API and widget rules are applied before Django is entered (orbit.edge,
with `check_async`); the middleware then only handles what the edge did not count (login,
the test client, a request the edge let through uncounted)."""

from __future__ import annotations

import logging
import uuid

from django.http import HttpResponse

from billing import meters, metrics
from billing.ratelimit.rules import (
    API_PREFIX,
    SCOPE_COUNTED,
    api_group,
    bad_credentials_rule,
    charged_rules,
    is_authenticated_call,
    is_token_api,
    rules_for,
    tenant_rules,
    too_many_requests,
)
from orbit.lib.ratelimit.client_ip import client_ip
from orbit.lib.ratelimit.counter import check, full, peek, tightest
from orbit.lib.ratelimit.responses import header_pairs

log = logging.getLogger(__name__)


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
