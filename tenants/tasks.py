from celery import shared_task

from tenants import provisioning


@shared_task(name="tenants.tasks.schema_pool_refill")
def schema_pool_refill() -> int:
    return provisioning.pool_refill()
