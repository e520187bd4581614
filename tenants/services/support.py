"""Partner console: support access, a signed single-use link into a client as support."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.services import audit_record, support_identity_enter
from orbit.lib.errors import OrbitError
from tenants.models import Organization, SupportGrant
from tenants.routing import tenant_host
from tenants.selectors import partner_client_get
from tenants.services.partners import ClientRefused, _require_partner

SUPPORT_LINK_SECONDS = 120  # to open the link once issued
SUPPORT_SESSION_SECONDS = 30 * 60  # the support session then lasts at most this long
SUPPORT_SALT = "orbit.tenants.support-access"


class SupportRefused(OrbitError):
    """The support link is invalid, expired, used, or not for this host."""

    code = "support_refused"
    status = 403


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def support_identity_email(partner: Organization) -> str:
    return f"suporte+{partner.slug}@{tenant_host(partner.slug)}"


@transaction.atomic
def support_access_issue(*, partner: Organization, client_slug: str, issued_by) -> tuple[Organization, str]:
    """A signed, single-use token for entering the client as support; (client, token).

    Raises Organization.DoesNotExist (missing or another partner's) or ClientRefused."""

    _require_partner(partner)
    client = partner_client_get(parent=partner, slug=client_slug)
    if client.is_blocked:
        raise ClientRefused(_("Esta conta está suspensa: reative-a antes de entrar como suporte."))
    grant, token = support_grant_issue(issuer=partner, client=client, email=issued_by.email,
                                       name=issued_by.name or "")
    with schema_context(partner.schema_name):
        audit_record(action="support.issue", actor=issued_by, target=client.slug, detail={"grant": grant.pk})
    return client, token


def support_grant_issue(*, issuer: Organization, client: Organization, email: str, name: str) -> tuple[SupportGrant, str]:
    """A grant and its signed single-use token (only the token's hash is kept): the one way a
    support link is made, by a partner for its client or by the operator for any tenant."""
    raw = secrets.token_urlsafe(32)
    grant = SupportGrant.objects.create(
        partner=issuer, client=client, issued_by_email=email, issued_by_name=name, token_hash=_token_hash(raw),
        expires_at=timezone.now() + timedelta(seconds=SUPPORT_LINK_SECONDS),
    )
    return grant, signing.dumps({"g": grant.pk, "k": raw}, salt=SUPPORT_SALT)


@transaction.atomic
def support_access_redeem(*, organization: Organization, token: str):
    """Use a support token on the client's own host: the support identity (a user of the
    client's schema) to log in, with the entry in the client's audit log.

    Raises SupportRefused for anything but a fresh, unused token issued for this client."""
    refused = SupportRefused(_("Este link de suporte é inválido, já foi usado ou expirou. Gere um novo no painel do parceiro."))
    try:
        data = signing.loads(token, salt=SUPPORT_SALT, max_age=SUPPORT_LINK_SECONDS)
        grant_id, raw = int(data["g"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise refused from None
    grant = (
        SupportGrant.objects.select_for_update()
        .select_related("partner")
        .filter(pk=grant_id, token_hash=_token_hash(raw), client_id=organization.pk)
        .first()
    )
    now = timezone.now()
    if grant is None or grant.redeemed_at is not None or grant.expires_at <= now:
        raise refused
    grant.redeemed_at = now
    grant.save(update_fields=["redeemed_at"])
    partner = grant.partner
    label = _("Suporte %(partner)s (%(person)s)") % {
        "partner": partner.name,
        "person": grant.issued_by_name or grant.issued_by_email,
    }
    with schema_context(organization.schema_name):
        user = support_identity_enter(
            email=support_identity_email(partner),
            name=_("Suporte %(partner)s") % {"partner": partner.name},
            detail={
                "partner": partner.slug,
                "issued_by": grant.issued_by_email,
                "grant": grant.pk,
                "label": label,
                "session_seconds": SUPPORT_SESSION_SECONDS,
            },
        )
    return user
