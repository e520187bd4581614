"""Getting paid: mark paid, payment failed, void, uncollectible, credit notes, credits and
adjustments, and dunning (past_due → grace → suspended, reminders on the way). Payment
brings a subscription back to active at once. Operator actions are audited."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_tenant_model

from billing import lifecycle, periods, pricing
from billing.models import Adjustment, BillingNotice, CreditEntry, Invoice, Subscription
from billing.services.audit import audit
from billing.services.invoicing import credit_balance, invoice_store, issuer_for
from billing.services.usage import BillingError

UNPAID = (Subscription.Status.PAST_DUE, Subscription.Status.GRACE, Subscription.Status.SUSPENDED)
REMINDER_DAYS = (1, 3, 7)


def _amount(value, *, allow_negative: bool = False) -> Decimal:
    try:
        return pricing.parse_amount(value, allow_negative=allow_negative)
    except pricing.AmountError as bad:
        raise BillingError(str(bad)) from None


def _organization(invoice: Invoice):
    if invoice.organization_id is None:
        raise BillingError(_("A organização desta fatura foi excluída."))
    return get_tenant_model().objects.get(pk=invoice.organization_id)


def _locked_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _locked_subscription(organization_id: int) -> Subscription | None:
    return Subscription.objects.select_for_update().filter(organization_id=organization_id).first()


def _settle_subscription(organization_id: int) -> None:
    """A payment: with no other overdue invoice left, the subscription is active again."""
    subscription = _locked_subscription(organization_id)
    if subscription is None or subscription.status not in UNPAID:
        return
    overdue = Invoice.objects.filter(organization_id=organization_id, status=Invoice.Status.OPEN,
                                     due_at__lt=timezone.now()).exists()
    if not overdue:
        lifecycle.set_status(subscription, Subscription.Status.ACTIVE, past_due_since=None)


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, reference: str = "", actor=None, paid_at: dt.datetime | None = None) -> Invoice:
    """Record a payment (the operator's manual "mark paid", or Stripe's invoice.paid). A
    second call is a no-op: returns the paid invoice."""
    invoice = _locked_invoice(invoice)
    if invoice.status == Invoice.Status.PAID:
        return invoice
    if invoice.status != Invoice.Status.OPEN and invoice.status != Invoice.Status.UNCOLLECTIBLE:
        raise BillingError(_("Só uma fatura em aberto pode ser paga (esta está %(status)s).") % {
            "status": invoice.get_status_display().lower()})
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = paid_at or timezone.now()
    invoice.payment_reference = (reference or "manual")[:120]
    invoice.save(update_fields=["status", "paid_at", "payment_reference"])
    _settle_subscription(invoice.organization_id)
    organization = _organization(invoice)
    audit(organization=organization, action="billing.invoice.paid", actor=actor, target=invoice.number,
          detail={"amount": str(invoice.amount_due), "reference": invoice.payment_reference})
    return invoice


@transaction.atomic
def invoice_payment_failed(*, invoice: Invoice, reason: str = "", now: dt.datetime | None = None) -> Invoice:
    """A charge was refused: the subscription goes past due (dunning takes it from there)
    and the customer is told, once per invoice and failure."""
    now = now or timezone.now()
    invoice = _locked_invoice(invoice)
    if invoice.status != Invoice.Status.OPEN:
        return invoice
    subscription = _locked_subscription(invoice.organization_id)
    if subscription is not None and subscription.status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING):
        lifecycle.set_status(subscription, Subscription.Status.PAST_DUE, past_due_since=now)
    BillingNotice.objects.get_or_create(kind=BillingNotice.Kind.PAYMENT_FAILED,
                                        key=f"failed:{invoice.pk}:{reason[:60] or now.date().isoformat()}",
                                        defaults={"organization_id": invoice.organization_id, "invoice": invoice})
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor, reason: str = "") -> Invoice:
    """Cancel an open invoice (its number stays, as void). Credits it drew go back."""
    invoice = _locked_invoice(invoice)
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE):
        raise BillingError(_("Só uma fatura em aberto pode ser anulada."))
    invoice.status = Invoice.Status.VOID
    invoice.voided_at = timezone.now()
    invoice.save(update_fields=["status", "voided_at"])
    if invoice.credit_applied > 0:
        CreditEntry.objects.create(organization_id=invoice.organization_id, kind=CreditEntry.Kind.REVERSAL,
                                   amount=invoice.credit_applied, invoice=invoice,
                                   note=_("Fatura %(number)s anulada") % {"number": invoice.number},
                                   actor_email=getattr(actor, "email", ""))
    _settle_subscription(invoice.organization_id)
    audit(organization=_organization(invoice), action="billing.invoice.void", actor=actor, target=invoice.number,
          detail={"reason": reason[:200]})
    return invoice


@transaction.atomic
def invoice_mark_uncollectible(*, invoice: Invoice, actor) -> Invoice:
    invoice = _locked_invoice(invoice)
    if invoice.status != Invoice.Status.OPEN:
        raise BillingError(_("Só uma fatura em aberto pode ser dada como incobrável."))
    invoice.status = Invoice.Status.UNCOLLECTIBLE
    invoice.save(update_fields=["status"])
    audit(organization=_organization(invoice), action="billing.invoice.uncollectible", actor=actor,
          target=invoice.number)
    return invoice


@transaction.atomic
def invoice_resend(*, invoice: Invoice, actor) -> BillingNotice:
    if invoice.status == Invoice.Status.DRAFT:
        raise BillingError(_("Um rascunho não é enviado."))
    notice = BillingNotice.objects.create(organization_id=invoice.organization_id,
                                          kind=BillingNotice.Kind.INVOICE_ISSUED,
                                          key=f"invoice:{invoice.pk}:resend:{uuid.uuid4().hex[:12]}", invoice=invoice)
    audit(organization=_organization(invoice), action="billing.invoice.resend", actor=actor, target=invoice.number)
    return notice


@transaction.atomic
def credit_note_issue(*, invoice: Invoice, amount, reason: str, actor) -> Invoice:
    """A numbered credit note against a paid invoice: the amount becomes credit the next
    invoices draw. At most the invoice's total, counting earlier notes."""
    invoice = _locked_invoice(invoice)
    amount = _amount(amount)
    if invoice.status != Invoice.Status.PAID or invoice.kind == Invoice.Kind.CREDIT_NOTE:
        raise BillingError(_("Uma nota de crédito é emitida contra uma fatura paga."))
    already = sum((n.total for n in invoice.credit_notes.all()), pricing.ZERO)
    if amount + already > invoice.total:
        raise BillingError(_("A nota excede o valor da fatura (%(left)s disponível).") % {
            "left": invoice.total - already})
    organization = _organization(invoice)
    line = pricing.Line("credit", _("Crédito sobre a fatura %(number)s: %(reason)s") % {
        "number": invoice.number, "reason": reason[:150]}, amount)
    note = invoice_store(organization=organization, issuer=issuer_for(organization), kind=Invoice.Kind.CREDIT_NOTE,
                  period=invoice.period, draft=pricing.Draft([line]), now=timezone.now(), credits_invoice=invoice)
    # a credit note is a document, not a bill: it is settled by becoming credit
    Invoice.objects.filter(pk=note.pk).update(status=Invoice.Status.PAID, amount_due=pricing.ZERO,
                                              paid_at=timezone.now(), payment_reference="credit_note")
    BillingNotice.objects.filter(invoice=note).delete()
    _grant(organization_id=organization.pk, amount=amount, note=note.number, actor=actor)
    audit(organization=organization, action="billing.credit_note", actor=actor, target=note.number,
          detail={"invoice": invoice.number, "amount": str(amount), "reason": reason[:200]})
    note.refresh_from_db()
    return note


def _grant(*, organization_id: int, amount: Decimal, note: str, actor) -> CreditEntry:
    _locked_subscription(organization_id)  # credit writes and invoice draws take turns per organization
    return CreditEntry.objects.create(organization_id=organization_id, kind=CreditEntry.Kind.GRANT, amount=amount,
                                      note=note[:200], actor_email=getattr(actor, "email", "") or "")


@transaction.atomic
def credit_grant(*, organization, amount, note: str = "", actor=None) -> CreditEntry:
    """Prepaid credit (or a goodwill grant): the next invoices draw it before charging."""
    entry = _grant(organization_id=organization.pk, amount=_amount(amount), note=note, actor=actor)
    audit(organization=organization, action="billing.credit.grant", actor=actor,
          detail={"amount": str(entry.amount), "note": note[:200],
                  "balance": str(credit_balance(organization_id=organization.pk))})
    return entry


@transaction.atomic
def adjustment_add(*, organization, description: str, amount, actor=None) -> Adjustment:
    """An add-on (positive) or a discount (negative) for the next period invoice."""
    description = (description or "").strip()
    if not description or len(description) > 200:
        raise BillingError(_("Descreva o ajuste (até 200 caracteres)."))
    adjustment = Adjustment.objects.create(organization_id=organization.pk, description=description,
                                           amount=_amount(amount, allow_negative=True),
                                           actor_email=getattr(actor, "email", "") or "")
    audit(organization=organization, action="billing.adjustment", actor=actor,
          detail={"description": description, "amount": str(adjustment.amount)})
    return adjustment


# --- dunning --------------------------------------------------------------------------


def dunning_advance(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The dunning clock (beat, hourly). Open invoices past due put their subscription past
    due; reminders go 1, 3 and 7 days after the due date; after BILLING_DUNNING_PAST_DUE_DAYS
    the subscription enters grace (suspension warning), and after BILLING_DUNNING_GRACE_DAYS
    more it is suspended (the organization with it). Each step once, each subscription in
    its own transaction."""
    now = now or timezone.now()
    done = {"past_due": 0, "grace": 0, "suspended": 0, "reminders": 0}
    overdue = Invoice.objects.filter(status=Invoice.Status.OPEN, due_at__lt=now, amount_due__gt=0,
                                     organization__isnull=False)
    for invoice in overdue.order_by("due_at"):
        with transaction.atomic():
            subscription = _locked_subscription(invoice.organization_id)
            if subscription is None:
                continue
            if subscription.status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING):
                lifecycle.set_status(subscription, Subscription.Status.PAST_DUE, past_due_since=invoice.due_at)
                done["past_due"] += 1
            for day in REMINDER_DAYS:
                if now >= invoice.due_at + dt.timedelta(days=day):
                    _, created = BillingNotice.objects.get_or_create(
                        kind=BillingNotice.Kind.PAYMENT_REMINDER, key=f"reminder:{invoice.pk}:{day}",
                        defaults={"organization_id": invoice.organization_id, "invoice": invoice})
                    done["reminders"] += created
    to_grace = now - dt.timedelta(days=settings.BILLING_DUNNING_PAST_DUE_DAYS)
    to_suspend = to_grace - dt.timedelta(days=settings.BILLING_DUNNING_GRACE_DAYS)
    for pk in Subscription.objects.filter(status__in=(Subscription.Status.PAST_DUE, Subscription.Status.GRACE),
                                          past_due_since__lte=to_grace).values_list("pk", flat=True):
        with transaction.atomic():
            subscription = Subscription.objects.select_for_update().get(pk=pk)
            since = subscription.past_due_since
            if since is None:
                continue
            # past_due → grace (warning), then grace → suspended, each once per episode
            for current, due, target, notice, step in (
                (Subscription.Status.PAST_DUE, to_grace, Subscription.Status.GRACE,
                 BillingNotice.Kind.SUSPENSION_WARNING, "grace"),
                (Subscription.Status.GRACE, to_suspend, Subscription.Status.SUSPENDED,
                 BillingNotice.Kind.SUSPENDED, "suspended"),
            ):
                if subscription.status == current and since <= due:
                    lifecycle.set_status(subscription, target)
                    BillingNotice.objects.get_or_create(kind=notice, key=f"{step}:{pk}:{since.isoformat()}",
                                                        defaults={"organization_id": subscription.organization_id})
                    done[step] += 1
    return done


def suspension_date(subscription: Subscription) -> dt.date | None:
    """When an unpaid subscription will be suspended (for the banner and the e-mails)."""
    if subscription.past_due_since is None:
        return None
    days = settings.BILLING_DUNNING_PAST_DUE_DAYS + settings.BILLING_DUNNING_GRACE_DAYS
    return periods.localdate(subscription.past_due_since + dt.timedelta(days=days))


# --- the notices outbox ---------------------------------------------------------------

NOTICE_MAX_ATTEMPTS = 5


def notices_deliver(*, send, limit: int = 200) -> dict[str, int]:
    """Send the notices owed, each at most once: `send(notice) -> recipients` (the caller
    composes the e-mail: tenants, with the organization's brand). A notice is claimed under
    a row lock (another worker skips it); a failed send is retried on the next run, up to
    NOTICE_MAX_ATTEMPTS times."""
    import logging

    log = logging.getLogger(__name__)
    done = {"sent": 0, "failed": 0}
    pending = list(BillingNotice.objects.filter(sent_at__isnull=True, attempts__lt=NOTICE_MAX_ATTEMPTS)
                   .order_by("pk").values_list("pk", flat=True)[:limit])
    for pk in pending:
        with transaction.atomic():
            notice = (BillingNotice.objects.select_for_update(skip_locked=True, of=("self",))
                      .select_related("organization", "organization__parent", "invoice")
                      .filter(pk=pk, sent_at__isnull=True).first())
            if notice is None:
                continue
            try:
                recipients = send(notice)
            except Exception:
                log.warning("billing notice %s (%s) could not be sent", notice.pk, notice.kind, exc_info=True)
                notice.attempts += 1
                notice.save(update_fields=["attempts"])
                done["failed"] += 1
                continue
            notice.sent_at = timezone.now()
            notice.attempts += 1
            notice.recipients = recipients
            notice.save(update_fields=["sent_at", "attempts", "recipients"])
            done["sent"] += 1
    return done
