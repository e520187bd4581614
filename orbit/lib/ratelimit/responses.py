"""The answers of a refusal: RateLimit headers (IETF draft-ietf-httpapi-ratelimit-headers:
`RateLimit-Policy: "minute";q=300;w=60, "burst";q=60;w=10`, `RateLimit: "burst";r=0;t=7`) and
the 429 itself, built without templates or queries for machines (JSON, or plain text) and as
the brand's page for a person at a form."""

from __future__ import annotations

import json
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from orbit.lib.ratelimit.counter import Outcome, Rule


def policy_header(rules: list[Rule]) -> str:
    return ", ".join(f'"{r.name}";q={r.quota};w={r.window}' for r in rules)


def ratelimit_header(outcome: Outcome) -> str:
    return f'"{outcome.rule.name}";r={outcome.remaining};t={outcome.reset}'


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


def refusal(rules: list[Rule], outcome: Outcome, *, as_json: bool, language: str | None = None) -> tuple[list, bytes]:
    """The 429's headers (bytes pairs, ASGI-ready) and body (JSON for machines, else text)."""
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


def too_many_requests(request, rules: list[Rule], outcome: Outcome, *, for_machines: bool) -> HttpResponse:
    """The 429 of a Django request: JSON for machines (the API, the widget), else the page."""
    if not for_machines:  # a person at a form: a page
        # before LocaleMiddleware: the browser's language, as that middleware would pick it
        with translation.override(translation.get_language_from_request(request)):
            response = too_many_attempts_page(request, outcome.reset)
        for name, value in header_pairs(rules, outcome):
            response[name] = value
        return response
    headers, body = refusal(rules, outcome, as_json=True)
    response = HttpResponse(body, status=429, content_type=dict(headers)[b"content-type"].decode())
    response["Retry-After"] = str(outcome.reset)
    for name, value in header_pairs(rules, outcome):
        response[name] = value
    return response
