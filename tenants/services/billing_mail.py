"""Billing's e-mails, in the organization's brand (a partner's clients get the partner's):
invoice issued, payment failed, reminders, trial ending, suspension warning, suspended.
Billing owns the outbox (billing.services.notices_deliver); this composes and sends."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django_tenants.utils import schema_context

from billing import services as billing
from billing.models import BillingNotice, Subscription
from branding.selectors import brand_email_headers, effective_brand
from tenants.selectors import organization_base_url


def _recipients(organization) -> list[str]:
    with schema_context(organization.schema_name):
        return list(get_user_model().objects.filter(is_active=True, role__in=("owner", "admin"))
                    .order_by("email").values_list("email", flat=True))


def billing_notice_send(notice: BillingNotice, *, language: str | None = None) -> list[str]:
    """Compose and send one notice to the organization's owners and admins."""
    organization = notice.organization
    recipients = _recipients(organization)
    if not recipients:
        return []
    brand = effective_brand(organization)
    from_email, reply_to = brand_email_headers(brand)
    subscription = Subscription.objects.filter(organization_id=organization.pk).select_related("plan").first()
    base_url = organization_base_url(organization=organization)
    context = {
        "kind": notice.kind, "organization": organization, "brand_name": brand.company_name,
        "invoice": notice.invoice, "subscription": subscription,
        "suspension_date": billing.suspension_date(subscription) if subscription else None,
        "invoice_url": f"{base_url}/settings/plan/invoices/{notice.invoice_id}/" if notice.invoice_id else "",
        "plan_url": f"{base_url}/settings/plan/",
    }
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string("billing/email/notice_subject.txt", context).split())
        body = render_to_string("billing/email/notice_body.txt", context)
    EmailMessage(subject=subject, body=body, from_email=from_email, to=recipients, reply_to=reply_to).send()
    return recipients


def billing_notices_send() -> dict[str, int]:
    return billing.notices_deliver(send=billing_notice_send)
