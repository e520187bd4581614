"""Subscriptions: start, change plan (upgrade now with a prorated charge, downgrade at the
end of the term), cycle, cancel / resume, operator's contract price and trial, and the
clock (trials ending). Typed, keyword-only, atomic; the organization's plan and status
move in the same transaction (billing.lifecycle)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_tenant_model

from billing import lifecycle, metrics, periods, pricing
from billing.models import BillingNotice, Plan, Subscription
from billing.selectors.limits import current_usage, seat_count
from billing.services.audit import audit
from billing.services.invoicing import invoice_issue_proration
from billing.services.usage import BillingError, limits_profile_forget

TRIAL_NOTICE_DAYS = 3
_PLAN_CODE = re.compile(r"[a-z0-9_-]{1,50}")


def _plan(plan: Plan | str) -> Plan:
    if isinstance(plan, Plan):
        return plan
    code = str(plan or "").strip()
    found = Plan.objects.filter(code=code).first() if _PLAN_CODE.fullmatch(code) else None
    if found is None:
        raise BillingError(_("Plano desconhecido: %(code)s.") % {"code": code[:40].replace("\x00", "")})
    return found


def _cycle(cycle: str) -> str:
    if cycle not in Subscription.Cycle.values:
        raise BillingError(_("Ciclo inválido: use mensal ou anual."))
    return cycle


@transaction.atomic
def subscription_start(*, organization, plan: Plan, cycle: str = Subscription.Cycle.MONTHLY,
                       now: dt.datetime | None = None) -> Subscription:
    """The organization's subscription, made with it: a trial when the organization starts
    in trial (the plan's trial days), else active. The first term is the current month."""
    now = now or timezone.now()
    trial = organization.status == "trial"
    period = periods.period_of(now)
    subscription, _created = Subscription.objects.get_or_create(
        organization_id=organization.pk,
        defaults={
            "plan": plan, "cycle": _cycle(cycle),
            "status": Subscription.Status.TRIALING if trial else Subscription.Status.ACTIVE,
            "trial_ends_at": now + dt.timedelta(days=plan.trial_days) if trial else None,
            "current_period_start": period, "current_period_end": periods.next_period(period),
        },
    )
    return subscription


def _locked(organization) -> Subscription:
    subscription = (Subscription.objects.select_for_update(of=("self",)).select_related("plan", "scheduled_plan")
                    .filter(organization_id=organization.pk).first())
    if subscription is None:
        raise BillingError(_("Esta organização não tem assinatura."))
    return subscription


def _set_plan(subscription: Subscription, plan: Plan) -> None:
    """The subscription's and the organization's plan, together; limits apply at once."""
    subscription.plan = plan
    get_tenant_model().objects.filter(pk=subscription.organization_id).update(plan=plan)
    limits_profile_forget(organization_ids=[subscription.organization_id])
    lifecycle.organization_changed(subscription.organization_id)


# --- plan change ----------------------------------------------------------------------


@dataclass(frozen=True)
class PlanChange:
    """What changing to `plan` / `cycle` would do, before doing it (the plan page's preview)."""

    plan: Plan
    cycle: str
    kind: str  # "upgrade" | "downgrade" | "cycle" | "same" | "cancel_scheduled"
    effective: str  # "now" | "period_end"
    effective_date: dt.date | None
    charge_now: Decimal
    days_left: int
    days_in_term: int
    refusals: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.refusals


def _term_price(subscription: Subscription, plan: Plan) -> Decimal | None:
    """What a term of `plan` costs this organization in its cycle (its contract price for
    the plan it is on)."""
    override = subscription.price_override if plan.pk == subscription.plan_id else None
    return pricing.term_price(plan=plan, cycle=subscription.cycle, price_override=override)


def _downgrade_refusals(*, organization, plan: Plan) -> list[str]:
    """Usage above the new plan's limits (agents, storage) refuses a downgrade."""
    refusals = []
    seats = seat_count(organization=organization)
    if plan.max_agents is not None and seats > plan.max_agents:
        refusals.append(_("O plano %(plan)s permite %(limit)s agentes e a conta tem %(used)s ativos: desative "
                          "%(extra)s antes de mudar.") % {"plan": plan.name, "limit": plan.max_agents, "used": seats,
                                                          "extra": seats - plan.max_agents})
    stored = current_usage(organization=organization, metric=metrics.STORAGE_BYTES)
    if plan.storage_bytes is not None and stored > plan.storage_bytes:
        refusals.append(_("O plano %(plan)s inclui %(limit)s GB e a conta usa %(used)s GB: libere espaço antes "
                          "de mudar.") % {"plan": plan.name, "limit": round(plan.storage_bytes / pricing.GB, 1),
                                          "used": round(stored / pricing.GB, 1)})
    return refusals


def plan_change_preview(*, organization, plan: Plan | str, cycle: str | None = None,
                        now: dt.datetime | None = None) -> PlanChange:
    now = now or timezone.now()
    plan = _plan(plan)
    subscription = Subscription.objects.select_related("plan").get(organization_id=organization.pk)
    cycle = _cycle(cycle or subscription.cycle)
    refusals: list[str] = []
    if subscription.status in (Subscription.Status.SUSPENDED, Subscription.Status.CANCELLED):
        refusals.append(_("A assinatura está suspensa ou cancelada: regularize-a antes de mudar de plano."))
    if plan.price_monthly is None and not (plan.pk == subscription.plan_id and subscription.price_override):
        refusals.append(_("O plano %(plan)s tem preço sob consulta: fale conosco.") % {"plan": plan.name})
    if not plan.is_public and plan.pk != subscription.plan_id:
        refusals.append(_("Este plano não está disponível para contratação."))
    old, new = _term_price(subscription, subscription.plan), _term_price(subscription, plan)
    charge, days_left, days = pricing.proration(old_price=old, new_price=new, term_start=subscription.current_period_start,
                                                term_end=subscription.current_period_end, now=now)
    if subscription.status == Subscription.Status.TRIALING:
        charge = pricing.ZERO  # a trial pays nothing: the new plan is billed from the next term
    if plan.pk == subscription.plan_id and cycle == subscription.cycle:
        kind = "cancel_scheduled" if subscription.scheduled_plan_id or subscription.scheduled_cycle else "same"
        return PlanChange(plan, cycle, kind, "now", None, pricing.ZERO, days_left, days, tuple(refusals))
    if plan.pk != subscription.plan_id and old is not None and new is not None and new > old:
        return PlanChange(plan, cycle, "upgrade", "now", periods.localdate(now), charge, days_left, days,
                          tuple(refusals))
    if plan.pk != subscription.plan_id:
        refusals += _downgrade_refusals(organization=organization, plan=plan)
        kind = "downgrade"
    else:
        kind = "cycle"
    return PlanChange(plan, cycle, kind, "period_end", subscription.current_period_end, pricing.ZERO, days_left,
                      days, tuple(refusals))


@transaction.atomic
def subscription_change_plan(*, organization, plan: Plan | str, cycle: str | None = None, actor=None,
                             now: dt.datetime | None = None) -> PlanChange:
    """Change plan or cycle. An upgrade applies now with a prorated invoice for the rest of
    the month; a downgrade or a cycle change waits for the end of the term (refused while
    usage is above the new plan's limits). Choosing the current plan cancels a scheduled
    change. Raises BillingError with the reasons when refused; nothing is written then."""
    now = now or timezone.now()
    subscription = _locked(organization)
    change = plan_change_preview(organization=organization, plan=plan, cycle=cycle, now=now)
    if not change.allowed:
        raise BillingError(" ".join(change.refusals))
    old_plan = subscription.plan
    if change.kind == "upgrade":
        _set_plan(subscription, change.plan)
        subscription.price_override = None  # a contract price was for the plan left behind
        subscription.scheduled_plan = None
        if change.cycle != subscription.cycle:
            subscription.scheduled_cycle = change.cycle
        subscription.save()
        if change.charge_now > 0:
            invoice_issue_proration(subscription=subscription, old_plan=old_plan, new_plan=change.plan,
                                    amount=change.charge_now, days_left=change.days_left,
                                    days_in_term=change.days_in_term, now=now)
    elif change.kind in ("downgrade", "cycle"):
        subscription.scheduled_plan = change.plan if change.kind == "downgrade" else None
        subscription.scheduled_cycle = change.cycle if change.cycle != subscription.cycle else ""
        subscription.save()
    elif change.kind == "cancel_scheduled":
        subscription.scheduled_plan = None
        subscription.scheduled_cycle = ""
        subscription.save()
    audit(organization=organization, action=f"billing.plan.{change.kind}", actor=actor,
          detail={"from": old_plan.code, "to": change.plan.code, "cycle": change.cycle,
                  "charge_now": str(change.charge_now), "effective": change.effective})
    return change


@transaction.atomic
def subscription_cancel(*, organization, actor=None) -> Subscription:
    """Cancel at the end of the term: service continues until then, nothing more is billed."""
    subscription = _locked(organization)
    if subscription.status == Subscription.Status.CANCELLED:
        raise BillingError(_("A assinatura já está cancelada."))
    subscription.cancel_at_period_end = True
    subscription.save(update_fields=["cancel_at_period_end", "updated_at"])
    audit(organization=organization, action="billing.subscription.cancel", actor=actor,
          detail={"at": subscription.current_period_end.isoformat()})
    return subscription


@transaction.atomic
def subscription_resume(*, organization, actor=None) -> Subscription:
    subscription = _locked(organization)
    if not subscription.cancel_at_period_end:
        raise BillingError(_("A assinatura não está marcada para cancelar."))
    subscription.cancel_at_period_end = False
    subscription.save(update_fields=["cancel_at_period_end", "updated_at"])
    audit(organization=organization, action="billing.subscription.resume", actor=actor)
    return subscription


def _parse_money(value, *, allow_none: bool) -> Decimal | None:
    if value in (None, "") and allow_none:
        return None
    try:
        amount = Decimal(str(value).replace(",", "."))
    except (InvalidOperation, ValueError):
        raise BillingError(_("Valor inválido: %(value)s.") % {"value": str(value)[:20]}) from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("9999999999"):
        raise BillingError(_("O valor deve ser zero ou positivo."))
    return pricing.money(amount)


@transaction.atomic
def subscription_set_price_override(*, organization, price, actor) -> Subscription:
    """The operator's contract price per term (None removes it). Operators only."""
    if not getattr(actor, "is_staff", False):
        raise BillingError(_("Só o operador altera o preço contratado."))
    subscription = _locked(organization)
    subscription.price_override = _parse_money(price, allow_none=True)
    subscription.save(update_fields=["price_override", "updated_at"])
    audit(organization=organization, action="billing.price_override", actor=actor,
          detail={"price": None if subscription.price_override is None else str(subscription.price_override)})
    return subscription


@transaction.atomic
def subscription_extend_trial(*, organization, days: int, actor) -> Subscription:
    if not isinstance(days, int) or not 1 <= days <= 90:
        raise BillingError(_("Informe de 1 a 90 dias."))
    subscription = _locked(organization)
    if subscription.status != Subscription.Status.TRIALING:
        raise BillingError(_("Só uma assinatura em teste pode ter o teste estendido."))
    subscription.trial_ends_at = max(subscription.trial_ends_at or timezone.now(), timezone.now()) \
        + dt.timedelta(days=days)
    subscription.save(update_fields=["trial_ends_at", "updated_at"])
    audit(organization=organization, action="billing.trial.extend", actor=actor, detail={"days": days})
    return subscription


@transaction.atomic
def subscription_sync_plan(*, organization, plan: Plan) -> None:
    """The operator changed the organization's plan by hand (tenants' organization admin):
    the subscription follows, without proration, and a scheduled change is dropped."""
    Subscription.objects.filter(organization_id=organization.pk).update(
        plan=plan, scheduled_plan=None, updated_at=timezone.now()
    )


# --- the clock ------------------------------------------------------------------------


def subscriptions_advance(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Trials: a notice three days before the end, then active at the end (billing starts
    with the next period close). Each subscription in its own transaction."""
    now = now or timezone.now()
    done = {"trial_notices": 0, "trials_ended": 0}
    soon = Subscription.objects.filter(status=Subscription.Status.TRIALING,
                                       trial_ends_at__lte=now + dt.timedelta(days=TRIAL_NOTICE_DAYS),
                                       trial_ends_at__gt=now)
    for subscription in soon.select_related("organization"):
        _, created = BillingNotice.objects.get_or_create(
            kind=BillingNotice.Kind.TRIAL_ENDING, key=f"trial:{subscription.pk}:{subscription.trial_ends_at:%Y%m%d}",
            defaults={"organization_id": subscription.organization_id},
        )
        done["trial_notices"] += created
    ended = Subscription.objects.filter(status=Subscription.Status.TRIALING, trial_ends_at__lte=now)
    for pk in ended.values_list("pk", flat=True):
        with transaction.atomic():
            subscription = Subscription.objects.select_for_update().get(pk=pk)
            if subscription.status == Subscription.Status.TRIALING and subscription.trial_ends_at <= now:
                lifecycle.set_status(subscription, Subscription.Status.ACTIVE)
                done["trials_ended"] += 1
    return done
