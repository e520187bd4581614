"""Celery tasks. Each runs in the schema of the tenant that enqueued it (tenant-schemas-celery);
the periodic ones fan out over the tenants themselves."""

from __future__ import annotations

import logging

from celery import shared_task
from django_tenants.utils import get_public_schema_name, get_tenant_model, tenant_context

from chat import services
from chat.services import privacy
from chat.services.presence import SETTLE_TASK
from orbit.lib.tenancy import current_organization

log = logging.getLogger(__name__)


@shared_task(name=SETTLE_TASK)
def presence_settle(user_id: int) -> str:
    return services.presence_settle(organization=current_organization(), user_id=user_id)


@shared_task(name="chat.tasks.conversations_auto_resolve")
def conversations_auto_resolve() -> int:
    """Beat entry: resolve idle conversations in every active tenant."""
    total = 0
    tenants = get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).exclude(
        status__in=("suspended", "cancelled")
    )
    for organization in tenants:
        with tenant_context(organization):
            total += services.conversations_auto_resolve(organization=organization)
    return total


@shared_task(name="chat.tasks.retention_apply_all")
def retention_apply_all() -> int:
    """Beat entry (issue 15): each tenant's conversation retention (chat.services.privacy)."""
    total = 0
    for organization in get_tenant_model().objects.exclude(schema_name=get_public_schema_name()):
        try:
            with tenant_context(organization):
                total += privacy.retention_apply()["conversations"]
        except Exception:
            log.exception("retention of %s failed", organization.schema_name)
    return total
