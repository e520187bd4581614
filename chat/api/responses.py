"""JSON answers for the chat API: one error shape everywhere, like the websocket's."""

from __future__ import annotations

import json

from django.http import JsonResponse

from accounts.tokens import authorization_credential
from orbit.lib.errors import api_error


def error(code: str, message: str, status: int = 400) -> JsonResponse:
    """The API envelope (orbit.lib.errors.api_error): {"error": {"code", "message"}}."""
    return api_error(code, message, status)


def json_body(request) -> dict | None:
    """The body's JSON object, or None: not JSON, not an object, or nested past what the
    parser takes (50,000 brackets are a RecursionError, not a 500)."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def bearer(request) -> str | None:
    """The request's bearer credential (the widget's visitor token), accounts.tokens' parse."""
    return authorization_credential(request.headers.get("Authorization"))
