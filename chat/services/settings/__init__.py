"""Chat settings writers for tenant admins: inboxes, teams, labels and canned responses.

Every function validates everything before it writes and runs in one transaction, so bad
input raises `django.core.exceptions.ValidationError` (field → pt-BR messages) with nothing
half-written; every change is recorded in the tenant's audit log with the acting person.
They run in the connection's current (tenant) schema."""

from chat.services.settings.catalog import (
    canned_response_create,
    canned_response_delete,
    canned_response_update,
    label_create,
    label_delete,
    label_update,
)
from chat.services.settings.inboxes import (
    PRECHAT_FIELDS,
    WEEKDAYS,
    clean_origin,
    inbox_create,
    inbox_delete,
    inbox_update,
)
from chat.services.settings.teams import team_create, team_delete, team_update

__all__ = [
    "PRECHAT_FIELDS",
    "WEEKDAYS",
    "canned_response_create",
    "canned_response_delete",
    "canned_response_update",
    "clean_origin",
    "inbox_create",
    "inbox_delete",
    "inbox_update",
    "label_create",
    "label_delete",
    "label_update",
    "team_create",
    "team_delete",
    "team_update",
]
