"""The operator's actions on one organization (admin, per-tenant page). Each calls the
service that owns the change (tenants' lifecycle, billing's subscription and credit ledger)
and leaves an entry in the organization's audit log with the operator's name (billing's
services write their own)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from billing import services as billing
from billing.lifecycle import ORGANIZATION_STATUS
from billing.models import Subscription
from billing.pricing import AmountError, parse_amount
from billing.services.audit import audit
from tenants.models import Organization
from tenants.services import organization_set_status
from tenants.services.support import support_grant_issue


class ActionRefused(Exception):
    """The action cannot be done; the message says why (active language)."""


def _operator(actor) -> None:
    if not getattr(actor, "is_staff", False):
        raise ActionRefused(_("Só o operador faz isto."))


@transaction.atomic
def operator_suspend(*, organization: Organization, actor, reason: str = "") -> Organization:
    """Block the organization by hand: its pages, API and widget answer "suspended"; data,
    subscription and invoices are kept. Billing leaves a hand block alone."""
    _operator(actor)
    if organization.status == Organization.Status.SUSPENDED:
        raise ActionRefused(_("A organização já está suspensa."))
    previous = organization.status
    organization = organization_set_status(organization=organization, status=Organization.Status.SUSPENDED)
    audit(organization=organization, action="tenants.suspend", actor=actor,
          detail={"from": previous, "reason": (reason or "")[:200]})
    return organization


def reactivation_status(organization: Organization) -> str | None:
    """The status a reactivation returns to (what the subscription says), or None when only
    billing can lift the block (suspended or cancelled subscription: pay, or a new plan)."""
    subscription = Subscription.objects.filter(organization_id=organization.pk).only("status").first()
    if subscription is None:
        return Organization.Status.ACTIVE
    if subscription.status in (Subscription.Status.SUSPENDED, Subscription.Status.CANCELLED):
        return None
    return ORGANIZATION_STATUS[subscription.status]


@transaction.atomic
def operator_reactivate(*, organization: Organization, actor) -> Organization:
    _operator(actor)
    if not organization.is_blocked:
        raise ActionRefused(_("A organização não está suspensa nem cancelada."))
    target = reactivation_status(organization)
    if target is None:
        raise ActionRefused(_("A assinatura está suspensa ou cancelada pela cobrança: marque as faturas em aberto "
                              "como pagas (a conta volta sozinha) antes de reativar."))
    previous = organization.status
    organization = organization_set_status(organization=organization, status=target)
    audit(organization=organization, action="tenants.reactivate", actor=actor, detail={"from": previous, "to": target})
    return organization


def operator_change_plan(*, organization: Organization, plan: str, actor) -> billing.PlanChange:
    """billing's plan change (upgrade now with proration, downgrade at the end of the term); audited there."""
    _operator(actor)
    try:
        return billing.subscription_change_plan(organization=organization, plan=plan, actor=actor)
    except billing.BillingError as refused:
        raise ActionRefused(str(refused)) from None


def operator_extend_trial(*, organization: Organization, days, actor) -> Subscription:
    _operator(actor)
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ActionRefused(_("Informe de 1 a 90 dias.")) from None
    try:
        return billing.subscription_extend_trial(organization=organization, days=days, actor=actor)
    except billing.BillingError as refused:
        raise ActionRefused(str(refused)) from None


def operator_grant_credit(*, organization: Organization, amount, note: str, actor) -> Decimal:
    """Credit the next invoices draw before charging; returns the amount granted."""
    _operator(actor)
    try:
        value = parse_amount(amount)
    except AmountError as refused:
        raise ActionRefused(str(refused)) from None
    note = (note or "").strip()
    if not note:
        raise ActionRefused(_("Diga o motivo do crédito."))
    try:
        entry = billing.credit_grant(organization=organization, amount=value, note=note[:200], actor=actor)
    except billing.BillingError as refused:
        raise ActionRefused(str(refused)) from None
    return entry.amount


@transaction.atomic
def operator_support_access(*, organization: Organization, actor) -> str:
    """A one-time link (token) for the operator to enter the organization as support, redeemed
    on its own host like a partner's (tenants.services.support): a short session as the
    organization's support identity, in its audit log with the operator's name."""
    _operator(actor)
    if organization.is_blocked:
        raise ActionRefused(_("Esta conta está suspensa: reative-a antes de entrar como suporte."))
    grant, token = support_grant_issue(
        issuer=organization, client=organization, email=actor.email,
        name=_("Orbit: %(name)s") % {"name": getattr(actor, "name", "") or actor.email})
    audit(organization=organization, action="support.issue", actor=actor, detail={"grant": grant.pk, "by": "operator"})
    return token
