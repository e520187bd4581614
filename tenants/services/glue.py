"""Tenant settings: glue handed to accounts' services (seat rule, e-mail look)."""

from __future__ import annotations

from accounts.services import MailContext, SeatCheck
from billing.limits import check_agent_seat
from branding.selectors import brand_email_headers, effective_brand
from tenants.models import Organization


def seat_check_for(organization: Organization) -> SeatCheck:
    """The seat rule accounts' services call before adding a person: billing's limits
    (plan or operator override, the partner's tree cap). The one place to swap it."""

    def check() -> str | None:
        result = check_agent_seat(organization)
        return None if result.allowed else result.reason

    return check


def mail_context_for(*, organization: Organization, base_url: str) -> MailContext:
    """How e-mails from this organization look: its effective brand, links to base_url."""
    brand = effective_brand(organization)
    from_email, reply_to = brand_email_headers(brand)
    return MailContext(base_url=base_url, company_name=brand.company_name, from_email=from_email, reply_to=reply_to)
