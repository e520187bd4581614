"""JSON log lines that always say which tenant schema they belong to."""

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from orbit.lib.context import current_schema


class TenantFilter:
    def filter(self, record) -> bool:
        schema = current_schema.get()
        if schema is None:
            try:
                from django.db import connection

                schema = getattr(connection, "schema_name", None)
            except Exception:  # logging must never fail because settings are not ready
                schema = None
        record.tenant = schema or "-"
        return True


class JsonFormatter(_JsonFormatter):
    pass
