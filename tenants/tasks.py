import datetime as dt
import logging

from celery import shared_task

from tenants import provisioning, services
from tenants.dashboard.snapshots import snapshots_refresh
from tenants.data.services import backup_scheduled
from tenants.models import Organization
from tenants.services.billing_mail import billing_notices_send as send_billing_notices
from tenants.services.bulk_imports import BULK_IMPORT_TASK
from tenants.services.organizations import POOL_REFILL_TASK

log = logging.getLogger(__name__)


@shared_task(name=POOL_REFILL_TASK)
def schema_pool_refill() -> int:
    return provisioning.pool_refill()


@shared_task(name=BULK_IMPORT_TASK)
def bulk_import_run(job_id: int) -> int:
    """A partner's CSV import, row by row (progress committed after each row)."""
    return services.bulk_import_run(job_id=job_id).processed


@shared_task(name="tenants.tasks.billing_notices_send")
def billing_notices_send() -> dict:
    """Billing's e-mails owed (beat, every minute; the outbox keeps them through an outage)."""
    return send_billing_notices()


@shared_task(name="tenants.tasks.backups_daily")
def backups_daily() -> dict:
    """Beat (hourly): each organization without today's scheduled backup gets one (its kind
    by the calendar), then its retention (tenants.data.backup). One failure does not stop the rest."""
    made = failed = 0
    for organization in Organization.objects.exclude(schema_name="public").select_related("plan").order_by("pk"):
        try:
            if backup_scheduled(organization=organization):
                made += 1
        except Exception:
            failed += 1
            log.exception("scheduled backup of %s failed", organization.slug)
    return {"made": made, "failed": failed}


@shared_task(name="tenants.tasks.dashboard_snapshots_refresh")
def dashboard_snapshots_refresh(days: list[str] | None = None) -> dict:
    """Beat (every 15 minutes): the operator dashboard's daily snapshots — today's state and
    usage, yesterday's usage, and any day late ledger rows belong to (tenants.dashboard.snapshots).
    days (ISO dates, oldest first): just those (the backlog "refresh now" leaves to the worker)."""
    return snapshots_refresh(days=[dt.date.fromisoformat(d) for d in days] if days else None)
