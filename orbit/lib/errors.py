"""One error base for everything Orbit tells a client it refused: `OrbitError`, with a stable
machine `code`, a message for people (translated where it is raised) and the HTTP status it
answers. Apps subclass it (chat's MessageError, billing's LimitExceeded, tenants' DomainRefused…);
the mappings below are the only places an error becomes a response:

    api_response(exc)   → JSON API envelope {"error": {"code", "message"}} with exc.status
    ws_error_frame(exc) → websocket {"type": "error", "code", "message", "ref"}
    command_error(exc)  → a `manage.py` command's CommandError, with its exit status

`OrbitErrorMiddleware` maps an OrbitError that escapes a view under /api/ to the envelope.
(The refusals made before Django — rate limits at the ASGI edge, a suspended tenant — keep
their flat `{"error": "<code>", "detail": …}` body, which clients and tests read today.)"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.http import JsonResponse


class OrbitError(Exception):
    code = "error"
    status = 400
    exit_status = 1

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        return str(self) or self.code


def api_envelope(exc: OrbitError) -> dict:
    return {"error": {"code": exc.code, "message": exc.message}}


def api_error(code: str, message: str, status: int = 400) -> JsonResponse:
    """The API envelope for a refusal decided in a view (no exception raised)."""
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def api_response(exc: OrbitError) -> JsonResponse:
    return JsonResponse(api_envelope(exc), status=exc.status)


def ws_error_frame(exc_or_code, message: str | None = None, ref=None) -> dict:
    """A websocket error frame from an OrbitError, or from a code and a message."""
    if isinstance(exc_or_code, OrbitError):
        code, message = exc_or_code.code, exc_or_code.message
    else:
        code = exc_or_code
    return {"type": "error", "code": code, "message": message, "ref": ref}


def command_error(exc: OrbitError):
    """The CommandError a `manage.py` command raises for a refusal (its message, its exit status)."""
    return CommandError(exc.message, returncode=exc.exit_status)


class OrbitErrorMiddleware:
    """An OrbitError escaping a view under /api/ answers the API envelope (not a 500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OrbitError) and request.path.startswith("/api/"):
            return api_response(exception)
        return None
