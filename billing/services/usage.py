"""Billing writes: limit overrides, alerts, meter recomputes and period transitions.

Typed, keyword-only, atomic; tasks are enqueued on commit."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable

from celery import current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from billing import cache_keys, metrics, periods, selectors, usage_cache
from billing.models import LimitAlert, LimitOverride, Meter, Plan, UsageEvent
from billing.selectors.limits import OK, REFUSED, LimitResult, limit_status
from orbit.lib.errors import OrbitError

logger = logging.getLogger(__name__)


class BillingError(OrbitError, ValueError):
    code = "billing_refused"


# --- overrides -------------------------------------------------------------------------


PROFILE_VERSION_TTL = 7 * 24 * 3600


def _forget_profiles(organization_ids: list[int]) -> None:
    if not organization_ids:
        return
    selectors.forget_local_profiles(organization_ids)
    c = cache_keys.cache()
    period = periods.period_of(timezone.now())
    c.delete_many(
        [cache_keys.limits(organization_id=i) for i in organization_ids]
        # tree totals: a moved organization's old and new ancestors count other trees now
        + [cache_keys.usage_counter(organization_id=i, metric=m, period=period, scope="tree")
           for i in organization_ids for m in metrics.METRICS]
    )
    c.set_many({cache_keys.limits_version(organization_id=i): uuid.uuid4().hex for i in organization_ids},
               PROFILE_VERSION_TTL)


def limits_profile_forget(*, organization_ids: Iterable[int]) -> None:
    """THE way to say "these organizations' limits changed" (plan, override, tree): their
    cached limits profiles are dropped now — this process's copy, the shared one, and
    every other process's copy through the limits version check() compares — and once
    more when the current transaction commits (a reader in between may have cached the
    old rows). The next check() uses the new limits."""
    ids = sorted(set(organization_ids))
    _forget_profiles(ids)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _forget_profiles(ids))


@transaction.atomic
def limit_override_set(*, organization, metric: str, limit: int | None, note: str = "") -> LimitOverride:
    """Give one organization its own limit for a metric (None = unlimited)."""
    try:
        metrics.validate(metric)
    except ValueError as exc:
        raise BillingError(str(exc)) from None
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise BillingError(f"limit must be a non-negative integer or None (unlimited), not {limit!r}")
    override, _created = LimitOverride.objects.update_or_create(
        organization_id=organization.pk, metric=metric, defaults={"limit": limit, "note": note}
    )
    limits_profile_forget(organization_ids=[organization.pk])
    return override


@transaction.atomic
def limit_override_delete(*, organization, metric: str) -> None:
    LimitOverride.objects.filter(organization_id=organization.pk, metric=metric).delete()
    limits_profile_forget(organization_ids=[organization.pk])


@transaction.atomic
def plan_save(*, plan: Plan) -> Plan:
    """Save a plan (the operator admin): the organizations on it get its limits at once."""
    plan.full_clean()
    plan.save()
    limits_profile_forget(organization_ids=plan.organizations.values_list("pk", flat=True))
    return plan


# --- alerts ----------------------------------------------------------------------------


@transaction.atomic
def limit_alert_raise(*, organization, metric: str, period: dt.date, level: str, used: int, limit: int) -> LimitAlert | None:
    """Record that a limit was crossed; at most once per organization, metric, period and
    level (the unique constraint). Returns the new alert, or None if it was already raised.
    The e-mail to the tenant admins is sent by a task enqueued on commit."""
    if level not in LimitAlert.Level.values:
        raise BillingError(f"invalid alert level {level!r}")
    alert, created = LimitAlert.objects.get_or_create(
        organization_id=organization.pk, metric=metric, period=period, level=level,
        defaults={"used": used, "limit": limit},
    )
    if not created:
        return None
    schema = organization.schema_name
    transaction.on_commit(lambda: _enqueue_alert_email(alert.pk, schema))
    return alert


def limit_alert_raise_once(
    *, organization, metric: str, period: dt.date, level: str, used: int, limit: int
) -> LimitAlert | None:
    """limit_alert_raise() behind a flag on the shared cache, so that the many checks (and
    recomputes) that see a level already alerted cost one cache read, not a query. The
    flag is set only once the alert is committed: a rolled-back caller (its conversation
    refused further on, say) leaves no flag that would hide the alert for the period.
    Used by limit_check() and by the meter recompute alike."""
    flag = cache_keys.alert_raised(organization_id=organization.pk, metric=metric, period=period, level=level)
    if cache_keys.cache().get(flag):
        return None
    alert = limit_alert_raise(organization=organization, metric=metric, period=period, level=level,
                              used=used, limit=limit)
    ttl = periods.seconds_left(period) + 3600
    transaction.on_commit(lambda: cache_keys.cache().set(flag, 1, ttl))
    return alert


def limit_check(organization, metric: str, amount: int = 1) -> LimitResult:
    """billing.selectors.limit_status (may `organization` add `amount` of `metric` now?) and
    the alert its level calls for, once per period: at 80 % and 90 % (allowed) and beyond the
    limit (refused; not for a refusal by a partner's package, which alerts the partner's own
    reading). What billing.limits.check is."""
    result = limit_status(organization, metric, amount)
    if result.period is not None and result.level != OK and not result.by_tree:
        used = result.used if result.level == REFUSED else result.used + result.amount
        limit_alert_raise_once(organization=organization, metric=metric, period=result.period, level=result.level,
                               used=used, limit=result.limit)
    return result


def limit_alerts_raise_for_usage(*, period: dt.date, usage: list[tuple[int, str, int]]) -> list[LimitAlert]:
    """Alerts for readings of the period's usage — (organization id, metric, what counts
    against the limit) — at the level that usage reaches (selectors.level_for: 80 %, 90 %,
    beyond the limit), once per organization, metric, period and level as in check().
    Suspended and cancelled organizations are skipped (check() refuses them outright).
    Two queries for the limits, then one flag read per row at a level."""
    limits = selectors.effective_limits(organization_ids=sorted({org_id for org_id, _m, _u in usage}))
    crossed = []
    for org_id, metric, used in usage:
        limit = limits.get(org_id, {}).get(metric)
        level = selectors.level_for(used=used, limit=limit)
        if level != "ok":
            crossed.append((org_id, metric, used, limit, level))
    if not crossed:
        return []
    organizations = get_tenant_model().objects.in_bulk({row[0] for row in crossed})
    raised = []
    for org_id, metric, used, limit, level in crossed:
        organization = organizations.get(org_id)
        if organization is None or organization.is_blocked:
            continue
        alert = limit_alert_raise_once(organization=organization, metric=metric, period=period, level=level,
                                       used=used, limit=limit)
        if alert is not None:
            raised.append(alert)
    return raised


# Celery's name of the task that e-mails an alert (billing.tasks registers it; enqueued by
# name: a message on the queue, so services need not import the tasks that call them).
ALERT_EMAIL_TASK = "billing.tasks.limit_alert_notify"


def _enqueue_alert_email(alert_id: int, schema_name: str) -> None:
    try:
        with schema_context(schema_name):  # the task runs in the tenant's schema
            current_app.send_task(ALERT_EMAIL_TASK, args=[alert_id])
    except Exception:  # an unreachable broker must not fail the request that crossed the limit
        logger.warning("could not enqueue the limit alert e-mail", exc_info=True)


def _admin_emails(schema_name: str) -> list[str]:
    """The active owners' and admins' addresses in one organization's schema."""
    with schema_context(schema_name):
        return list(
            get_user_model().objects.filter(is_active=True, role__in=("owner", "admin"))
            .order_by("email").values_list("email", flat=True)
        )


def _alert_email(alert: LimitAlert, organization, *, for_parent: bool) -> tuple[str, str]:
    """Subject and body (in the active language) of an alert's e-mail: to the tenant's
    admins, or to its partner's / holding's admins about their client."""
    label = metrics.LABELS[alert.metric]
    if alert.level == LimitAlert.Level.REFUSED:
        subject = _("%(org)s: limite de %(label)s atingido") % {"org": organization.name, "label": label}
    else:
        subject = _("%(org)s: %(percent)s%% do limite de %(label)s") % {
            "org": organization.name, "percent": alert.percent, "label": label}
    values = {"label": label, "period": periods.label(alert.period), "used": alert.used, "limit": alert.limit,
              "percent": alert.percent, "org": organization.name}
    if for_parent:
        body = _(
            "Seu cliente %(org)s usou %(used)s de %(limit)s (%(percent)s%%) do limite de %(label)s em %(period)s.\n"
            "Veja o uso dos seus clientes no console de parceiro ou amplie o plano do cliente."
        ) % values
    else:
        body = _(
            "Uso de %(label)s em %(period)s: %(used)s de %(limit)s (%(percent)s%%).\n"
            "Veja o uso da conta em Configurações › Uso ou fale conosco para ampliar o plano."
        ) % values
    return subject, body


def limit_alert_notify(*, alert_id: int) -> list[str]:
    """E-mail an alert, once: to the tenant's owners and admins and, when the tenant has a
    parent (a partner's client, a holding's subsidiary), in a separate e-mail to the
    parent's owners and admins. Users live in each organization's own schema: each list
    is read inside that schema. Runs in the tenant's schema (its task carries it);
    returns the recipients (the tenant's, then the parent's)."""
    with transaction.atomic():
        alert = LimitAlert.objects.select_for_update().filter(pk=alert_id, emailed_at__isnull=True).first()
        if alert is None:
            return []
        organization = get_tenant_model().objects.select_related("parent").get(pk=alert.organization_id)
        recipients = _admin_emails(organization.schema_name)
        parent = organization.parent
        parent_recipients = _admin_emails(parent.schema_name) if parent is not None else []
        with translation.override(settings.LANGUAGE_CODE):
            if recipients:
                send_mail(*_alert_email(alert, organization, for_parent=False), None, recipients)
            if parent_recipients:
                send_mail(*_alert_email(alert, organization, for_parent=True), None, parent_recipients)
        alert.emailed_at = timezone.now()
        alert.save(update_fields=["emailed_at"])
    return recipients + parent_recipients


@transaction.atomic
def limit_alert_dismiss(*, organization, alert_id: int) -> bool:
    return bool(
        LimitAlert.objects.filter(pk=alert_id, organization_id=organization.pk, dismissed_at__isnull=True)
        .update(dismissed_at=timezone.now())
    )


# --- meters ----------------------------------------------------------------------------


def _table(model) -> str:
    q = connection.ops.quote_name
    return f"{q(get_public_schema_name())}.{q(model._meta.db_table)}"


@transaction.atomic
def meters_recompute(
    *, period: dt.date, organization_ids: list[int] | None = None, finalize: bool = False, now: dt.datetime | None = None
) -> int:
    """Recompute the period's meters from the ledger — one aggregate, one upsert — for
    the given organizations (all when None). Final meters are left alone; `finalize`
    makes these the final figures. The cached counters of the period are reset to the
    ledger's truth after commit. Returns the number of meters written."""
    now = now or timezone.now()
    state = periods.FINAL if finalize else periods.state(period, now=now)
    if state == periods.FINAL and not finalize:
        state = periods.CLOSING  # only periods_advance makes a meter final
    where = "period = %s"
    params: list = [state, list(metrics.GAUGES), list(metrics.GAUGES), now, period]
    if organization_ids is not None:
        where += " AND organization_id = ANY(%s)"
        params.append(list(organization_ids))
    meter, event = _table(Meter), _table(UsageEvent)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {meter} AS m (organization_id, metric, period, state, value, last_value, events,
                                      recomputed_at, finalized_at)
            SELECT organization_id, metric, period, %s,
                   CASE WHEN metric = ANY(%s) THEN max(quantity) ELSE sum(quantity) END::bigint,
                   CASE WHEN metric = ANY(%s) THEN (array_agg(quantity ORDER BY occurred_at DESC, id DESC))[1]
                        ELSE sum(quantity) END::bigint,
                   count(*), %s, NULL
            FROM {event} WHERE {where}
            GROUP BY organization_id, metric, period
            ON CONFLICT (organization_id, metric, period) DO UPDATE
               SET value = EXCLUDED.value, last_value = EXCLUDED.last_value, events = EXCLUDED.events,
                   recomputed_at = EXCLUDED.recomputed_at, state = EXCLUDED.state,
                   finalized_at = CASE WHEN EXCLUDED.state = 'final' THEN EXCLUDED.recomputed_at END
               WHERE m.state <> 'final'
            RETURNING organization_id, metric, last_value
            """,
            params,
        )
        rows = cursor.fetchall()
        if finalize:
            # meters of the period with no events left (none today; the ledger is append-only)
            Meter.objects.filter(period=period, **({"organization_id__in": organization_ids} if organization_ids else {})) \
                .exclude(state=periods.FINAL).update(state=periods.FINAL, finalized_at=now)
    if period == periods.period_of(now):
        transaction.on_commit(lambda: _reset_counters(rows, period))
        transaction.on_commit(lambda: _raise_alerts(rows, period))
    return len(rows)


def _raise_alerts(rows: list[tuple[int, str, int]], period: dt.date) -> None:
    """After an open period's recompute: the soft (and over-the-limit) alerts its meters
    call for, exactly as check() raises them. Agent seats are read from the ledger's
    gauge here (check() counts them live in the tenant's schema)."""
    try:
        limit_alerts_raise_for_usage(period=period, usage=rows)
    except Exception:  # the meters are committed; the next recompute tries again
        logger.warning("could not raise limit alerts after the meter recompute", exc_info=True)


def _reset_counters(rows: list[tuple[int, str, int]], period: dt.date) -> None:
    if not rows:
        return
    c = cache_keys.cache()
    c.set_many(
        {cache_keys.usage_counter(organization_id=o, metric=m, period=period): v for o, m, v in rows},
        getattr(settings, "BILLING_COUNTER_TTL", 600),
    )
    # tree totals are re-read from the ledger on their next use
    usage_cache.forget(
        [cache_keys.usage_counter(organization_id=o, metric=m, period=period, scope="tree") for o, m, _v in rows]
    )


def meter_recompute(*, organization, period: dt.date) -> list[Meter]:
    """One organization's meters for a period (the per-organization task, the stats command)."""
    meters_recompute(period=period, organization_ids=[organization.pk])
    return list(Meter.objects.filter(organization_id=organization.pk, period=period).order_by("metric"))


def periods_advance(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Move meters along open → closing → final by the clock: closing periods get one
    more recompute, periods past their grace window a last one that makes them final."""
    now = now or timezone.now()
    done = {"closing": 0, "final": 0}
    current = periods.period_of(now)
    candidates = set(
        Meter.objects.exclude(state=periods.FINAL).filter(period__lt=current).values_list("period", flat=True).distinct()
    )
    # the last two periods may have ledger rows and no meter yet
    for period in (periods.previous_period(current), periods.previous_period(periods.previous_period(current))):
        if not Meter.objects.filter(period=period, state=periods.FINAL).exists():
            candidates.add(period)
    for period in sorted(candidates):
        if periods.state(period, now=now) == periods.FINAL:
            done["final"] += meters_recompute(period=period, finalize=True, now=now)
        else:
            done["closing"] += meters_recompute(period=period, now=now)
    return done
