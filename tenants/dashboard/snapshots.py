"""Daily snapshots: the dashboard's only source. Celery beat runs `snapshots_refresh` every
few minutes (and the operator on demand); nothing here opens a tenant's schema.

Per day D (in TIME_ZONE):

* `OrganizationDay` — each organization's **state** (status, plan, subscription, platform
  MRR, highest limit use) as last read on D: read again on every refresh during D, then kept;
  an organization first seen for a past day (a gap, or the first run) gets the state of the
  moment. Its **usage** that day (messages and conversations from the usage ledger by
  `occurred_at`, visitors and agents from the activity table) is recounted whenever events for
  D arrive late: a refresh recounts today, yesterday and every day that has ledger rows
  ingested since the previous refresh.
* `PlatformDay` — the sums of D's rows, active agents over 1 / 7 / 30 days ending with D, and
  the movements since the previous snapshot day, per organization:

  ============================  ====================================================
  previous MRR → MRR on D        movement
  ============================  ====================================================
  0 → x > 0, never paid before   new
  0 → x > 0, paid before         reactivation
  p > 0 → x > p                  expansion (x − p)
  p > 0 → 0 < x < p              contraction (p − x)
  p > 0 → 0 (or deleted)         churn (p)
  ============================  ====================================================

  The first snapshot ever is the baseline: no movements.

Platform MRR of an organization: its subscription's term price (contract price when set;
yearly ÷ 12) less its discount, for subscriptions that are active, past due or in grace on an
organization that is not blocked; a partner's client counts at the platform's wholesale price
(list less the partner's wholesale discount), as the platform invoices the partner.

Every write is an upsert on (day, organization) or (day): a rerun leaves the same rows."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model

from billing import metrics, periods, pricing
from billing.models import Meter, PartnerPricing, Subscription, UsageEvent
from billing.selectors import effective_limits
from tenants.dashboard import activity
from tenants.dashboard.models import ZERO, ActivityDay, OrganizationDay, PlatformDay

log = logging.getLogger(__name__)

PAYING = (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE, Subscription.Status.GRACE)
BLOCKED = ("suspended", "cancelled")
FIRST_RUN_DAYS = 30  # the first refresh counts this much usage history (charts start full)
MAX_GAP_DAYS = 400
LATE_MARGIN = dt.timedelta(minutes=10)  # ledger rows committed a little after the previous refresh read
# Activity rows are kept this long (visitors: one row per visitor and day); older days keep the
# people counts their snapshot rows already hold.
ACTIVITY_KEPT_DAYS = {"visitor": 40, "agent": 400}
STATE_FIELDS = ["name", "slug", "kind", "status", "parent_id", "payer_id", "plan_code", "cycle",
                "subscription_status", "mrr", "ever_paid", "created_on", "limit_percent", "captured_at"]
USAGE_FIELDS = ["messages", "conversations", "visitors", "active_agents", "usage_at"]


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day))


def day_end(day: dt.date) -> dt.datetime:
    return day_start(day + dt.timedelta(days=1))


# --- revenue ----------------------------------------------------------------------------


def monthly_revenue(*, subscription: Subscription | None, organization_status: str,
                    wholesale_discount: Decimal | None = None) -> Decimal:
    """The platform's monthly recurring revenue from one organization (see the module doc)."""
    if subscription is None or subscription.status not in PAYING or organization_status in BLOCKED:
        return ZERO
    term = pricing.term_price(plan=subscription.plan, cycle=subscription.cycle,
                              price_override=subscription.price_override)
    if term is None:
        return ZERO
    monthly = Decimal(term) / pricing.months_in_term(subscription.cycle)
    if subscription.discount_percent:
        monthly = monthly * (100 - subscription.discount_percent) / 100
    if wholesale_discount is not None:
        monthly = monthly * (100 - wholesale_discount) / 100
    return pricing.money(monthly)


# --- one day ----------------------------------------------------------------------------


@dataclass
class _Org:
    id: int
    name: str
    slug: str
    kind: str
    status: str
    parent_id: int | None
    parent_kind: str | None
    plan_code: str
    created_at: dt.datetime


def _organizations(until: dt.datetime) -> list[_Org]:
    rows = (get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).filter(created_at__lt=until)
            .values_list("id", "name", "slug", "kind", "status", "parent_id", "parent__kind", "plan__code",
                         "created_at"))
    return [_Org(*row) for row in rows]


def _limit_percents(organization_ids: list[int], *, now: dt.datetime) -> dict[int, int]:
    """Each organization's highest use of a limited metric this period, in %."""
    if not organization_ids:
        return {}
    limits = effective_limits(organization_ids=organization_ids)
    result: dict[int, int] = {}
    limited = tuple(metrics.PLAN_LIMIT_FIELDS)
    for org_id, metric, value, last in (Meter.objects.filter(period=periods.period_of(now), metric__in=limited)
                                        .values_list("organization_id", "metric", "value", "last_value")):
        limit = limits.get(org_id, {}).get(metric)
        if metrics.is_unlimited(limit):
            continue
        used = last if metrics.is_gauge(metric) else value
        percent = 100 if limit == 0 and used > 0 else (int(used * 100 / limit) if limit else 0)
        result[org_id] = max(result.get(org_id, 0), percent)
    return result


def _state_rows(orgs: list[_Org], *, day: dt.date, now: dt.datetime, previous: dict[int, OrganizationDay],
                read_limits: bool) -> list[OrganizationDay]:
    subscriptions = {s.organization_id: s for s in Subscription.objects.select_related("plan")
                     .filter(organization_id__in=[o.id for o in orgs])}
    discounts = dict(PartnerPricing.objects.values_list("partner_id", "wholesale_discount_percent"))
    default_discount = Decimal(str(settings.BILLING_WHOLESALE_DISCOUNT))
    percents = _limit_percents([o.id for o in orgs], now=now) if read_limits else {}
    rows = []
    for org in orgs:
        subscription = subscriptions.get(org.id)
        resold = org.parent_id is not None and org.parent_kind == "partner"
        mrr = monthly_revenue(subscription=subscription, organization_status=org.status,
                              wholesale_discount=discounts.get(org.parent_id, default_discount) if resold else None)
        before = previous.get(org.id)
        rows.append(OrganizationDay(
            day=day, organization_id=org.id, name=org.name[:200], slug=org.slug, kind=org.kind, status=org.status,
            parent_id=org.parent_id, payer_id=org.parent_id if resold else org.id, plan_code=org.plan_code or "",
            cycle=subscription.cycle if subscription else "",
            subscription_status=subscription.status if subscription else "", mrr=mrr,
            ever_paid=mrr > 0 or bool(before and before.ever_paid), created_on=timezone.localtime(org.created_at).date(),
            limit_percent=percents.get(org.id) if read_limits else None, captured_at=now,
        ))
    return rows


def _usage(day: dt.date) -> dict[int, dict[str, int]]:
    """{organization id: {messages, conversations, visitors, active_agents}} on `day`."""
    start, end = day_start(day), day_end(day)
    usage: dict[int, dict[str, int]] = {}
    ledger = (UsageEvent.objects.filter(metric__in=[metrics.MESSAGE, metrics.CONVERSATION_STARTED],
                                        period__gte=periods.period_of(start), occurred_at__gte=start,
                                        occurred_at__lt=end)
              .values_list("organization_id", "metric").annotate(total=Sum("quantity")))
    names = {metrics.MESSAGE: "messages", metrics.CONVERSATION_STARTED: "conversations"}
    for org_id, metric, total in ledger:
        usage.setdefault(org_id, {})[names[metric]] = int(total or 0)
    people = (ActivityDay.objects.filter(day=day).values_list("organization_id", "kind").annotate(n=Count("id")))
    for org_id, kind, n in people:
        usage.setdefault(org_id, {})["visitors" if kind == ActivityDay.Kind.VISITOR else "active_agents"] = n
    return usage


def _active_agents(day: dt.date) -> dict[str, int]:
    """Distinct agents (organization, e-mail) with activity in the 1, 7 and 30 days ending with `day`."""
    pair = ActivityDay.objects.filter(kind=ActivityDay.Kind.AGENT, day__lte=day,
                                      day__gt=day - dt.timedelta(days=30))
    counts = {}
    for label, days in (("1d", 1), ("7d", 7), ("30d", 30)):
        counts[label] = (pair.filter(day__gt=day - dt.timedelta(days=days))
                         .values("organization_id", "actor").distinct().count())
    return counts


def _previous_rows(day: dt.date) -> dict[int, OrganizationDay]:
    previous_day = OrganizationDay.objects.filter(day__lt=day).aggregate(d=Max("day"))["d"]
    if previous_day is None:
        return {}
    return {r.organization_id: r for r in OrganizationDay.objects.filter(day=previous_day)}


@transaction.atomic
def snapshot_day(*, day: dt.date, now: dt.datetime | None = None) -> PlatformDay:
    """Write `day`'s organization rows and its platform row (idempotent). The state is read
    now for today, and for organizations that have no row for `day` yet; usage is recounted."""
    now = now or timezone.now()
    today = periods.localdate(now)
    if day > today:
        raise ValueError(f"{day} is in the future")
    orgs = _organizations(until=min(day_end(day), now + dt.timedelta(seconds=1)))
    existing = {r.organization_id: r for r in OrganizationDay.objects.filter(day=day)}
    previous = _previous_rows(day)
    capture = orgs if day == today else [o for o in orgs if o.id not in existing]
    captured = _state_rows(capture, day=day, now=now, previous=previous, read_limits=day == today)
    usage = _usage(day)
    rows = {r.organization_id: r for r in captured}
    for org_id, row in existing.items():
        rows.setdefault(org_id, row)
    people_kept = day > today - dt.timedelta(days=ACTIVITY_KEPT_DAYS["visitor"])
    for org_id, row in rows.items():
        counted = usage.get(org_id, {})
        row.messages = counted.get("messages", 0)
        row.conversations = counted.get("conversations", 0)
        if people_kept or org_id not in existing:  # older activity rows are gone: keep what was counted
            row.visitors = counted.get("visitors", 0)
            row.active_agents = counted.get("active_agents", 0)
        row.usage_at = now
    if captured:
        OrganizationDay.objects.bulk_create(captured, batch_size=1000, update_conflicts=True,
                                            unique_fields=["day", "organization"],
                                            update_fields=STATE_FIELDS + USAGE_FIELDS)
    kept = [r for org_id, r in existing.items() if org_id not in {c.organization_id for c in captured}]
    if kept:
        OrganizationDay.objects.bulk_update(kept, USAGE_FIELDS, batch_size=1000)
    return _platform_day(day=day, rows=list(rows.values()), previous=previous, now=now)


def _platform_day(*, day: dt.date, rows: list[OrganizationDay], previous: dict[int, OrganizationDay],
                  now: dt.datetime) -> PlatformDay:
    since = next(iter(previous.values())).day if previous else None
    values: dict = {
        "tenants": len(rows),
        "by_status": dict(Counter(r.status for r in rows)),
        "by_kind": dict(Counter(r.kind for r in rows)),
        # created since the previous snapshot (the day itself when there is none)
        "new_tenants": sum(1 for r in rows if r.created_on and r.created_on <= day
                           and (r.created_on > since if since else r.created_on == day)),
        "messages": sum(r.messages for r in rows),
        "conversations": sum(r.conversations for r in rows),
        "visitors": sum(r.visitors for r in rows),
        "mrr": pricing.money(sum((r.mrr for r in rows), ZERO)),
        "customers": sum(1 for r in rows if r.mrr > 0),
        "near_limit": sum(1 for r in rows if r.limit_percent is not None and r.limit_percent >= 80),
        "at_limit": sum(1 for r in rows if r.limit_percent is not None and r.limit_percent >= 100),
        "computed_at": now,
    }
    agents = _active_agents(day)
    values |= {"active_agents_1d": agents["1d"], "active_agents_7d": agents["7d"], "active_agents_30d": agents["30d"]}
    movement = Counter()
    money = {k: ZERO for k in ("new", "expansion", "contraction", "churn", "reactivation")}
    if previous:  # the first snapshot ever is the baseline
        current = {r.organization_id: r for r in rows}
        for org_id in set(current) | set(previous):
            before, after = previous.get(org_id), current.get(org_id)
            p = before.mrr if before else ZERO
            x = after.mrr if after else ZERO
            if p == 0 and x > 0:
                kind = "reactivation" if before is not None and before.ever_paid else "new"
                money[kind] += x
                movement[f"customers_{'reactivated' if kind == 'reactivation' else 'new'}"] += 1
            elif p > 0 and x == 0:
                money["churn"] += p
                movement["customers_churned"] += 1
            elif x > p:
                money["expansion"] += x - p
            elif x < p:
                money["contraction"] += p - x
            was = before.status if before else None
            now_status = after.status if after else None
            if was == "trial" and now_status in ("active", "past_due"):
                movement["trials_converted"] += 1
            elif was == "trial" and now_status in (*BLOCKED, None):
                movement["trials_lost"] += 1
            if was is not None and was != "cancelled" and now_status in ("cancelled", None):
                movement["churned_tenants"] += 1
            if after is not None and now_status == "trial" and before is None:
                movement["trials_started"] += 1
    else:
        movement["trials_started"] = sum(1 for r in rows if r.status == "trial" and r.created_on == day)
    for kind, amount in money.items():
        values[f"mrr_{kind}"] = pricing.money(amount)
    for name in ("customers_new", "customers_churned", "customers_reactivated", "trials_converted", "trials_lost",
                 "churned_tenants", "trials_started"):
        values[name] = movement[name]
    platform, _created = PlatformDay.objects.update_or_create(day=day, defaults=values)
    return platform


# --- the beat ---------------------------------------------------------------------------


def late_days(*, since: dt.datetime, before: dt.date) -> list[dt.date]:
    """Days before `before` that got ledger rows ingested since `since` (late events)."""
    tz = timezone.get_current_timezone()
    days = (UsageEvent.objects.filter(metric__in=[metrics.MESSAGE, metrics.CONVERSATION_STARTED],
                                      period__gte=periods.period_of(since), ingested_at__gte=since,
                                      occurred_at__lt=day_start(before))
            .annotate(d=TruncDate("occurred_at", tzinfo=tz)).values_list("d", flat=True).distinct())
    return sorted(d for d in days if d is not None)


def days_to_refresh(*, now: dt.datetime) -> list[dt.date]:
    today = periods.localdate(now)
    yesterday = today - dt.timedelta(days=1)
    last = PlatformDay.objects.aggregate(day=Max("day"), at=Max("computed_at"))
    days = {today}
    if last["day"] is None:  # the first run: a month of usage history, today's state as its baseline
        days |= {today - dt.timedelta(days=n) for n in range(1, FIRST_RUN_DAYS)}
    else:
        days.add(yesterday)
        gap_start = max(last["day"], today - dt.timedelta(days=MAX_GAP_DAYS))
        days |= {gap_start + dt.timedelta(days=n) for n in range(1, (today - gap_start).days)}
        days |= set(late_days(since=last["at"] - LATE_MARGIN, before=yesterday))
    return sorted(days)


def snapshots_refresh(*, now: dt.datetime | None = None, days: list[dt.date] | None = None) -> dict:
    """Beat, and the operator's "refresh now": the days that need it, oldest first (a day's
    movements compare it with the day before). Each day in its own transaction."""
    now = now or timezone.now()
    activity.flush()  # this process's own waiting rows
    days = days if days is not None else days_to_refresh(now=now)
    for day in days:
        snapshot_day(day=day, now=now)
    today = periods.localdate(now)
    for kind, kept in ACTIVITY_KEPT_DAYS.items():
        ActivityDay.objects.filter(kind=kind, day__lt=today - dt.timedelta(days=kept)).delete()
    return {"days": [d.isoformat() for d in days]}


NOW_DAYS = 7  # "refresh now" computes this many days in the request; more go to the worker


def snapshots_refresh_now(*, now: dt.datetime | None = None) -> dict:
    """The operator's "refresh now": up to a week in the request; a longer backlog (the first
    run, a long outage of the beat) gets today now and the rest from the worker."""
    now = now or timezone.now()
    days = days_to_refresh(now=now)
    if len(days) <= NOW_DAYS:
        return {**snapshots_refresh(now=now, days=days), "queued": 0}
    today = periods.localdate(now)
    done = snapshots_refresh(now=now, days=[today])
    # the backlog, oldest first, then today again (its movements compare it with yesterday)
    rest = [d.isoformat() for d in days if d != today] + [today.isoformat()]
    transaction.on_commit(lambda: _enqueue_refresh(rest))
    return {**done, "queued": len(rest) - 1}


# Celery's name of the refresh (tenants.tasks registers it; enqueued by name, as tenants'
# services do, so this module needs not import the task that calls it).
REFRESH_TASK = "tenants.tasks.dashboard_snapshots_refresh"


def _enqueue_refresh(days: list[str]) -> None:
    try:
        current_app.send_task(REFRESH_TASK, kwargs={"days": days})
    except Exception:  # the beat catches up within 15 minutes; a broker hiccup must not fail the page
        log.warning("could not enqueue the dashboard refresh", exc_info=True)


def snapshot_status() -> dict:
    """When the snapshots were last computed (for the health panel)."""
    return PlatformDay.objects.aggregate(last_day=Max("day"), computed_at=Max("computed_at"),
                                         days=Count("id", filter=Q(day__isnull=False)))
