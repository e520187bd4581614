"""Invoices: the period close (one invoice per organization and period, idempotent), the
upgrade's prorated invoice, gapless numbers per issuer, and partners' retail and wholesale
invoices. Prices come from billing.pricing; this module only reads, decides and stores.

Each organization is closed in its own transaction under its subscription's row lock: a
rerun, a second worker, or a worker killed mid-run and run again finds each organization
either fully invoiced (invoice, lines, credit use, adjustments taken, subscription rolled
on) or untouched. The unique constraint on (issuer, organization, period) stands behind it."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from billing import lifecycle, metrics, periods, pricing, selectors
from billing.models import (
    PLATFORM_ISSUER,
    Adjustment,
    BillingNotice,
    CreditEntry,
    Invoice,
    InvoiceLine,
    Meter,
    PartnerPricing,
    Plan,
    Subscription,
)
from billing.services.usage import BillingError, limits_profile_forget, meters_recompute
from billing.stripe import hooks as stripe_hooks

logger = logging.getLogger(__name__)

PARTNER = "partner"
INVOICE_CREATED, INVOICE_EXISTING, INVOICE_WAITING = "created", "existing", "waiting"


# --- issuers and numbers --------------------------------------------------------------


@dataclass(frozen=True)
class Issuer:
    code: str
    organization_id: int | None
    name: str
    prefix: str


def issuer_for(organization) -> Issuer:
    """A partner's client is invoiced by the partner (at its retail prices, in its brand);
    everyone else by the platform."""
    parent = organization.parent
    if parent is not None and parent.kind == PARTNER:
        return Issuer(f"org:{parent.pk}", parent.pk, parent.name, parent.slug.upper().replace("-", "")[:10])
    return Issuer(PLATFORM_ISSUER, None, settings.BILLING_ISSUER_NAME, settings.BILLING_INVOICE_PREFIX)


def _next_number(issuer: Issuer) -> int:
    """The issuer's next number, its row locked until the caller's transaction ends: numbers
    are given out in commit order and a rollback gives its number back (no gaps)."""
    q = connection.ops.quote_name
    table = f"{q(get_public_schema_name())}.{q('billing_invoicesequence')}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (issuer, prefix, last_number) VALUES (%s, %s, 1) "
            f"ON CONFLICT (issuer) DO UPDATE SET last_number = {table}.last_number + 1 RETURNING last_number",
            [issuer.code, issuer.prefix],
        )
        return cursor.fetchone()[0]


def invoice_store(*, organization, issuer: Issuer, kind: str, period: dt.date, draft: pricing.Draft, now: dt.datetime,
           source_key: str = "", credits_invoice: Invoice | None = None) -> Invoice:
    """Write a draft as an open (or, with nothing to pay, paid) numbered invoice."""
    invoice = Invoice.objects.create(
        issuer=issuer.code, issuer_organization_id=issuer.organization_id, issuer_name=issuer.name[:200],
        organization_id=organization.pk, customer_name=organization.name[:200], kind=kind, period=period,
        subtotal=draft.subtotal, discount_total=draft.discount_total, credit_applied=draft.credit_applied,
        total=draft.total, amount_due=draft.amount_due, source_key=source_key, credits_invoice=credits_invoice,
    )
    InvoiceLine.objects.bulk_create([
        InvoiceLine(invoice=invoice, position=i, kind=line.kind, description=line.description[:300],
                    quantity=line.quantity, unit_price=line.unit_price, amount=line.amount,
                    list_amount=line.list_amount if line.list_amount is not None else line.amount,
                    client_id=line.client_id)
        for i, line in enumerate(draft.lines)
    ])
    if draft.credit_applied > 0:
        CreditEntry.objects.create(organization_id=organization.pk, kind=CreditEntry.Kind.USE,
                                   amount=-draft.credit_applied, invoice=invoice,
                                   note=_("Aplicado à fatura"))
    _open(invoice, issuer=issuer, now=now)
    return invoice


def _open(invoice: Invoice, *, issuer: Issuer, now: dt.datetime) -> None:
    """draft → open (paid at once when nothing is due), with its number."""
    number = _next_number(issuer)
    invoice.sequence = number
    invoice.number = f"{issuer.prefix}-{number:06d}"
    invoice.issued_at = now
    invoice.due_at = now + dt.timedelta(days=settings.BILLING_DUE_DAYS)
    if invoice.amount_due > 0:
        invoice.status = Invoice.Status.OPEN
        BillingNotice.objects.create(organization_id=invoice.organization_id, kind=BillingNotice.Kind.INVOICE_ISSUED,
                                     key=f"invoice:{invoice.pk}", invoice=invoice)
        stripe_hooks.invoice_opened(invoice)  # with Stripe on: collected after commit
    else:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = now
        invoice.payment_reference = "credit" if invoice.credit_applied > 0 else "zero"
    invoice.save(update_fields=["sequence", "number", "issued_at", "due_at", "status", "paid_at",
                                "payment_reference"])


def credit_balance(*, organization_id: int) -> Decimal:
    total = CreditEntry.objects.filter(organization_id=organization_id).aggregate(total=Sum("amount"))["total"]
    return pricing.money(total or 0)


# --- proration ------------------------------------------------------------------------


def invoice_issue_proration(*, subscription: Subscription, old_plan: Plan, new_plan: Plan, amount: Decimal,
                            days_left: int, days_in_term: int, now: dt.datetime) -> Invoice:
    """An upgrade's charge for the rest of the term, invoiced at once (credits drawn)."""
    organization = subscription.organization
    description = _("%(old)s → %(new)s: %(days)s de %(total)s dias do período até %(end)s") % {
        "old": old_plan.name, "new": new_plan.name, "days": days_left, "total": days_in_term,
        "end": (subscription.current_period_end - dt.timedelta(days=1)).strftime("%d/%m/%Y")}
    draft = pricing.Draft([pricing.Line("proration", description, amount)])
    draft.apply_credit(credit_balance(organization_id=organization.pk))
    key = f"proration:{subscription.pk}:{now.isoformat()}"
    return invoice_store(organization=organization, issuer=issuer_for(organization), kind=Invoice.Kind.PRORATION,
                  period=periods.period_of(now), draft=draft, now=now, source_key=key)


# --- the period close -----------------------------------------------------------------


@dataclass
class CloseContext:
    """What closing one period reads for every organization, read once."""

    period: dt.date
    usage: dict[int, dict[str, int]]  # organization → metric → total (counter) or peak (gauge)
    limits: dict[int, dict[str, int | None]]
    partner_pricing: dict[int, PartnerPricing]

    @property
    def next_period(self) -> dt.date:
        return periods.next_period(self.period)


@dataclass
class CloseResult:
    period: dt.date
    created: int = 0
    existing: int = 0
    waiting: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    invoices: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.existing + self.waiting + len(self.failed)


def check_closable(period: dt.date, *, now: dt.datetime) -> None:
    """A period is closed once its meters are final (after the grace window)."""
    current = periods.period_of(now)
    if period > current:
        raise BillingError(_("O período %(period)s ainda não começou.") % {"period": periods.label(period)})
    state = periods.state(period, now=now)
    if state == periods.OPEN:
        raise BillingError(_("O período %(period)s ainda está aberto.") % {"period": periods.label(period)})
    if state == periods.CLOSING:
        until = timezone.localtime(periods.end(period) + periods.grace())
        raise BillingError(_("O período %(period)s está em carência até %(until)s.") % {
            "period": periods.label(period), "until": until.strftime("%Y-%m-%d %H:%M")})


def _context(period: dt.date, organization_ids: list[int]) -> CloseContext:
    usage: dict[int, dict[str, int]] = defaultdict(dict)
    for org_id, metric, value in Meter.objects.filter(period=period, organization_id__in=organization_ids) \
            .values_list("organization_id", "metric", "value"):
        usage[org_id][metric] = value  # counters: the sum; gauges: the peak
    return CloseContext(
        period=period, usage=usage,
        limits=selectors.effective_limits(organization_ids=organization_ids),
        partner_pricing={p.partner_id: p for p in PartnerPricing.objects.all()},
    )


def _month(period: dt.date) -> str:
    """A month for people on an invoice line: 12/2026."""
    return f"{period.month:02d}/{period.year}"


def _next_term(subscription: Subscription, period: dt.date) -> tuple[Plan, str] | None:
    """The plan and cycle of a term starting right after `period`, or None when the
    current term runs on (a yearly term's months after its first) or billing stops."""
    following = periods.next_period(period)
    if subscription.current_period_end > following:
        return None
    if subscription.status in (Subscription.Status.SUSPENDED, Subscription.Status.CANCELLED):
        return None
    if subscription.cancel_at_period_end:
        return None
    return (subscription.scheduled_plan or subscription.plan), (subscription.scheduled_cycle or subscription.cycle)


def _charges(subscription: Subscription, ctx: CloseContext, *, retail: PartnerPricing | None) -> list[pricing.Line]:
    """The lines closing `ctx.period` brings: the next term's base fee (in advance) and the
    period's overage. Prices: the partner's retail price for the plan when it sets one,
    else the list price; each line keeps its list amount (wholesale is priced from it)."""
    lines: list[pricing.Line] = []
    term = _next_term(subscription, ctx.period)
    following = ctx.next_period
    if term is not None:
        plan, cycle = term
        override = subscription.price_override if plan.pk == subscription.plan_id else None
        retail_monthly = None
        if retail is not None and plan.code in retail.retail_prices:
            retail_monthly = Decimal(str(retail.retail_prices[plan.code]))
        price = pricing.term_price(plan=plan, cycle=cycle, price_override=override, retail_monthly=retail_monthly)
        list_price = pricing.term_price(plan=plan, cycle=cycle, price_override=override)
        if price is not None:
            share = Decimal(1)
            trial_end = subscription.trial_ends_at
            if (subscription.status == Subscription.Status.TRIALING and trial_end is not None and cycle == "monthly"
                    and trial_end > periods.start(following)):
                days = pricing.days_in_month(following)
                paid_days = max(0, (periods.end(following) - trial_end).days)
                share = Decimal(paid_days) / days
            last_month = periods.previous_period(pricing.term_end(following, cycle))
            label = _month(following) if cycle == "monthly" else f"{_month(following)} – {_month(last_month)}"
            description = _("Plano %(plan)s (%(cycle)s), %(term)s") % {
                "plan": plan.name, "cycle": Subscription.Cycle(cycle).label, "term": label}
            if share < 1:
                description += " " + _("(após o teste)")
            amount = pricing.money(price * share)
            lines.append(pricing.Line("base", description, amount, unit_price=price,
                                      list_amount=pricing.money((list_price or price) * share)))
            if subscription.discount_percent:
                cut = pricing.discounted(amount, subscription.discount_percent)
                lines.append(pricing.Line("discount", _("Desconto de %(percent)s%%") % {
                    "percent": subscription.discount_percent.normalize()}, -cut,
                    list_amount=-pricing.discounted(pricing.money((list_price or price) * share),
                                                    subscription.discount_percent)))
    plan = subscription.plan
    for overage in pricing.overages(plan=plan, limits=ctx.limits.get(subscription.organization_id, {}),
                                    usage=ctx.usage.get(subscription.organization_id, {})):
        unit = {"overage_conversations": _("conversas"), "overage_storage": _("GB"),
                "overage_seats": _("agentes")}[overage.kind]
        description = _("%(label)s excedente em %(period)s: %(units)s %(unit)s") % {
            "label": metrics.LABELS[overage.metric], "period": _month(ctx.period), "units": overage.units,
            "unit": unit}
        lines.append(pricing.Line(overage.kind, description, overage.amount, quantity=Decimal(overage.units),
                                  unit_price=overage.unit_price))
    return lines


def _wholesale_lines(partner, ctx: CloseContext) -> list[pricing.Line] | None:
    """One line per client invoiced for the period: the client's invoice at list prices,
    less the partner's wholesale discount. None while a client's invoice is missing."""
    clients = list(_billable(ctx.period).filter(organization__parent_id=partner.pk)
                   .values_list("organization_id", flat=True))
    invoices = {i.organization_id: i for i in Invoice.objects.filter(
        kind=Invoice.Kind.PERIOD, period=ctx.period, organization_id__in=clients).select_related("organization")}
    if set(clients) - set(invoices):
        return None
    pricing_row = ctx.partner_pricing.get(partner.pk)
    discount = pricing_row.wholesale_discount_percent if pricing_row else Decimal(settings.BILLING_WHOLESALE_DISCOUNT)
    list_totals = dict(InvoiceLine.objects.filter(invoice__in=list(invoices.values())).values("invoice_id")
                       .annotate(total=Sum("list_amount")).values_list("invoice_id", "total"))
    lines = []
    for invoice in sorted(invoices.values(), key=lambda i: i.customer_name):
        at_list = pricing.money(list_totals.get(invoice.pk) or 0)
        if at_list <= 0:
            continue
        amount = pricing.money(at_list * (100 - discount) / 100)
        lines.append(pricing.Line("wholesale", _("%(client)s (fatura %(number)s): %(list)s a preço de tabela, "
                                                 "−%(discount)s%%") % {
            "client": invoice.customer_name, "number": invoice.number, "list": at_list,
            "discount": discount.normalize()}, amount, unit_price=at_list, client_id=invoice.organization_id))
    return lines


def _roll(subscription: Subscription, period: dt.date, now: dt.datetime) -> None:
    """After closing `period`: a term that ends with it is renewed (a scheduled downgrade or
    cycle change takes effect) or, when cancelled at its end, the subscription ends."""
    following = periods.next_period(period)
    if subscription.current_period_end > following:
        return
    if subscription.cancel_at_period_end:
        lifecycle.set_status(subscription, Subscription.Status.CANCELLED, cancelled_at=now,
                             cancel_at_period_end=False)
        return
    if subscription.scheduled_plan_id and subscription.scheduled_plan_id != subscription.plan_id:
        subscription.plan = subscription.scheduled_plan
        subscription.price_override = None  # a contract price was for the plan left behind
        type(subscription.organization).objects.filter(pk=subscription.organization_id).update(
            plan=subscription.scheduled_plan)
        limits_profile_forget(organization_ids=[subscription.organization_id])
        lifecycle.organization_changed(subscription.organization_id)
    subscription.cycle = subscription.scheduled_cycle or subscription.cycle
    subscription.scheduled_plan = None
    subscription.scheduled_cycle = ""
    subscription.current_period_start = following
    subscription.current_period_end = pricing.term_end(following, subscription.cycle)
    subscription.save()


def _close_one(organization_id: int, ctx: CloseContext, *, now: dt.datetime, dry_run: bool = False):
    """Close the period for one organization, in the caller's transaction."""
    subscription = (Subscription.objects.select_for_update(of=("self",))
                    .select_related("organization", "organization__parent", "plan", "scheduled_plan")
                    .get(organization_id=organization_id))
    organization = subscription.organization
    existing = Invoice.objects.filter(kind=Invoice.Kind.PERIOD, period=ctx.period,
                                      organization_id=organization_id).first()
    if existing is not None:
        return INVOICE_EXISTING, existing
    issuer = issuer_for(organization)
    retail = ctx.partner_pricing.get(issuer.organization_id) if issuer.organization_id else None
    lines = _charges(subscription, ctx, retail=retail)
    if organization.kind == PARTNER:
        wholesale = _wholesale_lines(organization, ctx)
        if wholesale is None:
            return INVOICE_WAITING, None
        lines += wholesale
    adjustments = list(Adjustment.objects.select_for_update().filter(organization_id=organization_id,
                                                                     invoice__isnull=True).order_by("pk"))
    lines += [pricing.Line("adjustment", a.description, pricing.money(a.amount)) for a in adjustments]
    draft = pricing.Draft(lines)
    draft.apply_credit(credit_balance(organization_id=organization_id))
    if dry_run:
        return INVOICE_CREATED, draft
    invoice = invoice_store(organization=organization, issuer=issuer, kind=Invoice.Kind.PERIOD, period=ctx.period,
                     draft=draft, now=now)
    if adjustments:
        Adjustment.objects.filter(pk__in=[a.pk for a in adjustments]).update(invoice=invoice)
    _roll(subscription, ctx.period, now)
    return INVOICE_CREATED, invoice


def _billable(period: dt.date):
    """Subscriptions billed for `period`: their organization existed before it ended and
    they had not ended before it began."""
    return Subscription.objects.filter(organization__created_at__lt=periods.end(period)).exclude(
        status=Subscription.Status.CANCELLED, cancelled_at__lt=periods.start(period))


def _subscriptions_for(period: dt.date, organization_ids: list[int] | None):
    """Who is billed for `period`: organizations that existed before it ended and whose
    subscription had not ended before it began. Partners last (their wholesale lines
    are their clients' invoices)."""
    qs = _billable(period)
    if organization_ids is not None:
        qs = qs.filter(organization_id__in=organization_ids)
    rows = list(qs.values_list("organization_id", "organization__kind"))
    return [org_id for org_id, kind in sorted(rows, key=lambda r: (r[1] == PARTNER, r[0]))]


def period_close(*, period: dt.date, organization_ids: list[int] | None = None, now: dt.datetime | None = None,
                 progress: Callable[[int, int], None] | None = None) -> CloseResult:
    """Invoice `period` for every organization (or the given ones): exactly one invoice per
    organization and period, each in its own transaction. Safe to run again, concurrently,
    or after a crash: done organizations are skipped, the rest are done."""
    now = now or timezone.now()
    check_closable(period, now=now)
    if Meter.objects.filter(period=period).exclude(state=periods.FINAL).exists():
        meters_recompute(period=period, finalize=True, now=now)
    result = CloseResult(period)
    ids = _subscriptions_for(period, organization_ids)
    done = set(Invoice.objects.filter(kind=Invoice.Kind.PERIOD, period=period, organization_id__in=ids)
               .values_list("organization_id", flat=True))
    result.existing = len(done)
    todo = [i for i in ids if i not in done]
    ctx = _context(period, todo)
    for index, organization_id in enumerate(todo, 1):
        try:
            with transaction.atomic():
                outcome, invoice = _close_one(organization_id, ctx, now=now)
        except Exception as exc:  # one organization's failure must not stop the others
            logger.exception("period close failed for organization %s", organization_id)
            result.failed.append((str(organization_id), str(exc)[:200]))
        else:
            if outcome == INVOICE_CREATED:
                result.created += 1
                result.invoices.append(invoice.pk)
            elif outcome == INVOICE_EXISTING:
                result.existing += 1
            else:
                result.waiting += 1
        if progress is not None:
            progress(index, len(todo))
    return result


def invoice_preview(*, organization, period: dt.date, now: dt.datetime | None = None) -> pricing.Draft | Invoice:
    """What closing `period` would invoice the organization (nothing written), or its
    invoice when the period is already invoiced."""
    now = now or timezone.now()
    check_closable(period, now=now)
    with transaction.atomic():
        outcome, value = _close_one(organization.pk, _context(period, [organization.pk]), now=now, dry_run=True)
        transaction.set_rollback(True)
    if outcome == INVOICE_WAITING:
        raise BillingError(_("Feche antes o período dos clientes deste parceiro."))
    return value
