"""Billing's entries in the organization's own audit log (its schema), where its owners
and admins read them; the operator's name is kept with each."""

from __future__ import annotations

import logging

from django.db import connection
from django_tenants.utils import schema_context

from accounts.services import audit_record

logger = logging.getLogger(__name__)


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def audit(*, organization, action: str, actor=None, detail: dict | None = None, target: str = "") -> None:
    """One entry in `organization`'s audit log, in the caller's transaction."""
    label = ""
    if actor is not None and getattr(actor, "is_staff", False):
        label = f"operador {getattr(actor, 'email', '')}"
    if not _schema_exists(organization.schema_name):  # an organization row without its schema (benches)
        logger.warning("no schema for %s: audit entry %s not written", organization.schema_name, action)
        return
    with schema_context(organization.schema_name):
        audit_record(action=action, actor=actor, actor_label=label, target=target or organization.slug,
                     detail=detail or {})
