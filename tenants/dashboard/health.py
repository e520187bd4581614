"""What is reachable and waiting right now, for the dashboard's health panel: PostgreSQL (one
statement that also reads the money and alert counts), Redis, the Celery queue (length and
the age of its oldest task), the warm pool, the last billing run and the last snapshot.

The age of a waiting task comes from the `orbit_sent_at` header every task gets when it is
published (`stamp_sent_at`, connected by TenantsConfig.ready)."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing import periods
from billing.models import BillingNotice, Invoice, LimitAlert
from billing.models.money import PLATFORM_ISSUER
from tenants.dashboard.models import PlatformDay
from tenants.models import BackupRecord, PoolSchema

SENT_AT_HEADER = "orbit_sent_at"
QUEUE_AGE_WARNING_SECONDS = 300


def stamp_sent_at(sender=None, headers=None, **kwargs) -> None:
    """celery.signals.before_task_publish: when the task was published (epoch seconds)."""
    if isinstance(headers, dict):
        headers.setdefault(SENT_AT_HEADER, time.time())


@dataclass
class Health:
    postgres_ok: bool = False
    postgres_ms: float | None = None
    redis_ok: bool = False
    redis_ms: float | None = None
    queue_ok: bool = False
    queue_length: int | None = None
    queue_oldest_seconds: float | None = None
    overdue_amount: Decimal = Decimal("0.00")
    overdue_invoices: int = 0
    failed_payments: int = 0
    open_alerts: int = 0
    pool_size: int = 0
    pool_target: int = 0
    last_billing_run: dt.datetime | None = None
    last_billed_period: dt.date | None = None
    last_snapshot: dt.datetime | None = None
    last_backup: dt.datetime | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def queue_late(self) -> bool:
        return (self.queue_oldest_seconds or 0) > QUEUE_AGE_WARNING_SECONDS

    @property
    def pool_low(self) -> bool:
        return self.pool_size < self.pool_target

    @property
    def snapshot_stale(self) -> bool:
        return self.last_snapshot is None or timezone.now() - self.last_snapshot > dt.timedelta(hours=2)


def _counts(health: Health, *, now: dt.datetime, since: dt.datetime) -> None:
    """One statement: PostgreSQL answers, and the money and alert counts with it."""
    q = connection.ops.quote_name
    invoice, notice, alert = (q(m._meta.db_table) for m in (Invoice, BillingNotice, LimitAlert))
    pool, platform = q(PoolSchema._meta.db_table), q(PlatformDay._meta.db_table)
    backup = q(BackupRecord._meta.db_table)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT coalesce(sum(amount_due), 0) FROM {invoice} WHERE issuer = %(platform)s "
            f"        AND status = 'open' AND due_at < %(now)s), "
            f"       (SELECT count(*) FROM {invoice} WHERE issuer = %(platform)s AND status = 'open' AND due_at < %(now)s), "
            f"       (SELECT count(*) FROM {notice} WHERE kind = 'payment_failed' AND created_at >= %(since)s), "
            f"       (SELECT count(*) FROM {alert} WHERE period = %(period)s AND dismissed_at IS NULL), "
            f"       (SELECT count(*) FROM {pool}), "
            f"       (SELECT max(created_at) FROM {invoice} WHERE kind = 'period'), "
            f"       (SELECT max(period) FROM {invoice} WHERE kind = 'period'), "
            f"       (SELECT max(computed_at) FROM {platform}), "
            f"       (SELECT max(created_at) FROM {backup})",
            {"platform": PLATFORM_ISSUER, "now": now, "since": since, "period": periods.period_of(now)},
        )
        row = cursor.fetchone()
    health.postgres_ms = round((time.perf_counter() - started) * 1000, 1)
    health.postgres_ok = True
    (health.overdue_amount, health.overdue_invoices, health.failed_payments, health.open_alerts, health.pool_size,
     health.last_billing_run, health.last_billed_period, health.last_snapshot, health.last_backup) = row


def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def _redis(health: Health) -> None:
    started = time.perf_counter()
    client = _redis_client(f"{settings.REDIS_URL}/0")
    try:
        client.ping()
    finally:
        client.close()
    health.redis_ms = round((time.perf_counter() - started) * 1000, 1)
    health.redis_ok = True


def _queue(health: Health, *, now: float) -> None:
    """The default queue on the broker (kombu: LPUSH, consumers pop from the right: the
    oldest message is the last element)."""
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    client = _redis_client(settings.CELERY_BROKER_URL)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.llen(queue)
        pipe.lindex(queue, -1)
        length, oldest = pipe.execute()
    finally:
        client.close()
    health.queue_length = int(length or 0)
    health.queue_ok = True
    if oldest:
        try:
            sent = float(json.loads(oldest).get("headers", {}).get(SENT_AT_HEADER))
        except (ValueError, TypeError, AttributeError):
            return
        health.queue_oldest_seconds = max(0.0, now - sent)


def health_check(*, now: dt.datetime | None = None, since: dt.datetime | None = None) -> Health:
    """Each check on its own: one failing is reported, the others still run."""
    now = now or timezone.now()
    health = Health(pool_target=getattr(settings, "ORBIT_POOL_SIZE", 0))
    for name, check in (("postgres", lambda: _counts(health, now=now, since=since or now - dt.timedelta(days=30))),
                        ("redis", lambda: _redis(health)),
                        ("queue", lambda: _queue(health, now=time.time()))):
        try:
            check()
        except Exception as exc:  # a health panel reports, it does not raise
            health.errors.append(f"{name}: {exc.__class__.__name__}")
    return health
