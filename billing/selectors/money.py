"""Money reads: a tenant's subscription, invoices and credits; a partner's clients' and
the invoices it issued. "Missing" and "not yours" look the same (InvoiceNotFound)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from billing.models import Invoice, Subscription


class InvoiceNotFound(LookupError):
    pass


def subscription_for(*, organization) -> Subscription | None:
    return (Subscription.objects.select_related("plan", "scheduled_plan")
            .filter(organization_id=organization.pk).first())


def invoice_list(*, organization) -> QuerySet[Invoice]:
    """The organization's own invoices (from the platform or its partner), newest first."""
    return Invoice.objects.filter(organization_id=organization.pk).exclude(status=Invoice.Status.DRAFT) \
        .order_by("-issued_at", "-id")


def invoice_for(*, organization, invoice_id, as_issuer: bool = False) -> Invoice:
    """One invoice the organization may read: its own, or (as_issuer: a partner) one it
    issued to a client. Anything else raises InvoiceNotFound, as a missing one does."""
    try:
        invoice_id = int(invoice_id)
    except (TypeError, ValueError):
        raise InvoiceNotFound from None
    visible = Q(organization_id=organization.pk)
    if as_issuer:
        visible |= Q(issuer=f"org:{organization.pk}")
    invoice = (Invoice.objects.filter(visible, pk=invoice_id).exclude(status=Invoice.Status.DRAFT)
               .prefetch_related("lines").first())
    if invoice is None:
        raise InvoiceNotFound
    return invoice


def issued_invoices(*, partner) -> QuerySet[Invoice]:
    """Invoices a partner issued to its clients."""
    return Invoice.objects.filter(issuer=f"org:{partner.pk}").exclude(status=Invoice.Status.DRAFT) \
        .order_by("-issued_at", "-id")


def suspended_for_payment(*, organization) -> bool:
    """Billing suspended it (not the operator by hand): its admins may still reach the plan
    page to pay, and payment reactivates it at once."""
    return Subscription.objects.filter(organization_id=organization.pk,
                                       status=Subscription.Status.SUSPENDED).exists()
