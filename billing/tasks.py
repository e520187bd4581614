"""Celery entry points for billing: thin, each calls one service.

Meter tasks read and write public tables only and are enqueued from the public schema;
the alert e-mail task is enqueued from the tenant's schema and runs there."""

from __future__ import annotations

from celery import shared_task
from django.db import connection
from django.utils import timezone

from billing import periods, services


@shared_task(name="billing.tasks.meters_recompute_open")
def meters_recompute_open() -> dict:
    """Recompute the open period's meters for every organization (beat, every few minutes)."""
    period = periods.period_of(timezone.now())
    return {"period": periods.label(period), "meters": services.meters_recompute(period=period),
            "schema": connection.schema_name}


@shared_task(name="billing.tasks.meter_recompute")
def meter_recompute(organization_id: int, period: str) -> dict:
    from django_tenants.utils import get_tenant_model

    organization = get_tenant_model().objects.get(pk=organization_id)
    meters = services.meter_recompute(organization=organization, period=periods.parse(period))
    return {"meters": len(meters), "schema": connection.schema_name}


@shared_task(name="billing.tasks.periods_advance")
def periods_advance() -> dict:
    return services.periods_advance()


@shared_task(name="billing.tasks.limit_alert_notify")
def limit_alert_notify(alert_id: int) -> dict:
    recipients = services.limit_alert_notify(alert_id=alert_id)
    return {"recipients": recipients, "schema": connection.schema_name}


@shared_task(name="billing.tasks.period_close_last")
def period_close_last() -> dict:
    """Close last month once its meters are final (beat, hourly; a no-op once done)."""
    period = periods.previous_period(periods.period_of(timezone.now()))
    try:
        services.check_closable(period, now=timezone.now())
    except services.BillingError as waiting:
        return {"period": periods.label(period), "skipped": str(waiting)}
    result = services.period_close(period=period)
    return {"period": periods.label(period), "created": result.created, "existing": result.existing,
            "waiting": result.waiting, "failed": len(result.failed)}


@shared_task(name="billing.tasks.period_close")
def period_close(period: str) -> dict:
    result = services.period_close(period=periods.parse(period))
    return {"period": period, "created": result.created, "existing": result.existing,
            "waiting": result.waiting, "failed": len(result.failed)}


@shared_task(name="billing.tasks.subscriptions_advance")
def subscriptions_advance() -> dict:
    return services.subscriptions_advance()


@shared_task(name="billing.tasks.dunning_advance")
def dunning_advance() -> dict:
    return services.dunning_advance()


# Stripe (billing/stripe; imported here only when a task runs: without Stripe nothing loads it)


@shared_task(name="billing.tasks.stripe_invoice_collect", bind=True, max_retries=6)
def stripe_invoice_collect(self, invoice_id: int) -> dict:
    """Push one opened invoice to Stripe (enqueued on commit by invoicing._open)."""
    from billing.stripe import client, collect

    try:
        return {"invoice": invoice_id, "outcome": collect.invoice_collect(invoice_id=invoice_id)}
    except client.RETRYABLE as exc:  # network, Stripe's 5xx, rate limits: the same key, later
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task(name="billing.tasks.stripe_sync")
def stripe_sync() -> dict:
    from billing.stripe import setup

    return setup.stripe_sync()
