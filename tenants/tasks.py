from celery import shared_task

from tenants import provisioning


@shared_task(name="tenants.tasks.schema_pool_refill")
def schema_pool_refill() -> int:
    return provisioning.pool_refill()


@shared_task(name="tenants.tasks.bulk_import_run")
def bulk_import_run(job_id: int) -> int:
    """A partner's CSV import, row by row (progress committed after each row)."""
    from tenants.services import bulk_import_run as run

    return run(job_id=job_id).processed


@shared_task(name="tenants.tasks.billing_notices_send")
def billing_notices_send() -> dict:
    """Billing's e-mails owed (beat, every minute; the outbox keeps them through an outage)."""
    from tenants.services.billing_mail import billing_notices_send as send

    return send()
