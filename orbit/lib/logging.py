"""JSON log lines that always say which tenant schema they belong to, and carry no secrets."""

from __future__ import annotations

import re

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from orbit.lib.context import current_schema

REDACTED = "[redacted]"
# Extra fields and query parameters whose values are never written to a log line.
SECRET_KEY_PATTERN = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|authori[sz]ation|cookie|session|csrf|signature|hmac",
    re.IGNORECASE,
)
_SECRET_IN_TEXT = re.compile(
    r"(?P<key>[\w-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|signature|hmac)[\w-]*)"
    r"(?P<sep>\s*[=:]\s*)(?P<value>[^&\s,;'\"]+)",
    re.IGNORECASE,
)


def _schema_of_request(request) -> str | None:
    """django.request records carry the request; it knows its tenant after the middleware left."""
    if request is None or not hasattr(request, "tenant"):
        return None
    tenant = request.tenant
    return getattr(tenant, "schema_name", None) or "public"


class TenantFilter:
    def filter(self, record) -> bool:
        schema = _schema_of_request(getattr(record, "request", None)) or current_schema.get()
        if schema is None:
            try:
                from django.db import connection

                schema = getattr(connection, "schema_name", None)
            except Exception:  # logging must never fail because settings are not ready
                schema = None
        record.tenant = schema or "-"
        return True


def redact_text(text: str) -> str:
    """`password=…`, `token: …` and the like keep their key and lose their value."""
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group('key')}{m.group('sep')}{REDACTED}", text)


class JsonFormatter(_JsonFormatter):
    """One JSON object a line. The request object Django attaches to its records becomes its
    method and path (no query string, headers or body); secret-looking fields are redacted."""

    def add_fields(self, log_data, record, message_dict) -> None:
        super().add_fields(log_data, record, message_dict)
        request = log_data.pop("request", None)
        if request is not None and hasattr(request, "path"):
            log_data["method"] = getattr(request, "method", None)
            log_data["path"] = redact_text(request.path)
        for key in list(log_data):
            if key != "message" and SECRET_KEY_PATTERN.search(key):
                log_data[key] = REDACTED
        if isinstance(log_data.get("message"), str):
            log_data["message"] = redact_text(log_data["message"])
        if isinstance(log_data.get("exc_info"), str):
            log_data["exc_info"] = redact_text(log_data["exc_info"])
