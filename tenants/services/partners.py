"""Partner console: the partner's clients (create, suspend, reactivate)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.services import MailContext, audit_record, user_send_welcome
from billing.models import Plan
from orbit.lib.errors import OrbitError
from tenants.models import Organization
from tenants.selectors import organization_base_url, partner_client_get
from tenants.services.glue import mail_context_for
from tenants.services.organizations import organization_activate, organization_create, organization_suspend


class ClientRefused(OrbitError):
    """A partner console action was refused; the message is for the person who asked."""

    code = "client_refused"


def _client_mail(client: Organization) -> MailContext:
    """Links in the client's e-mails go to its canonical address, never a request's Host."""
    return mail_context_for(organization=client, base_url=organization_base_url(organization=client))


def _welcome_owner(client: Organization, owner_email: str, *, invited_by_name: str) -> None:
    mail = _client_mail(client)
    with schema_context(client.schema_name):
        owner = get_user_model().objects.get(email=owner_email.strip().lower())
        user_send_welcome(user=owner, mail=mail, invited_by_name=invited_by_name)


def _require_partner(partner: Organization) -> None:
    if partner.kind != Organization.Kind.PARTNER:
        raise ClientRefused(_("Só parceiros podem alterar os clientes; holdings têm acesso somente de leitura."))


@transaction.atomic
def partner_client_create(
    *,
    partner: Organization,
    name: str,
    plan: Plan | str,
    owner_email: str,
    slug: str | None = None,
    actor=None,
) -> Organization:
    """A new company under the partner, its owner e-mailed a link to choose a password.

    Raises ClientRefused or ProvisioningError; then nothing is created."""

    _require_partner(partner)
    if not (owner_email or "").strip():
            raise ClientRefused(_("Informe o e-mail do responsável pelo cliente."))
    with schema_context(get_public_schema_name()):  # django-tenants saves tenants from public only
        client = organization_create(
            name=name,
            plan=plan,
            slug=slug or None,
            kind=Organization.Kind.COMPANY,
            parent=partner,
            owner_email=owner_email,
        )
    _welcome_owner(client, owner_email, invited_by_name=partner.name)
    with schema_context(partner.schema_name):
        audit_record(action="client.create", actor=actor, target=client.slug)
    return client


def partner_client_set_active(*, partner: Organization, client_slug: str, active: bool, actor=None) -> Organization:
    """Suspend or reactivate one of the partner's clients.

    Raises Organization.DoesNotExist (missing or another partner's) or ClientRefused."""

    _require_partner(partner)
    client = partner_client_get(parent=partner, slug=client_slug)
    with schema_context(get_public_schema_name()):  # django-tenants saves tenants from public only
        client = organization_activate(organization=client) if active else organization_suspend(organization=client)
    with schema_context(partner.schema_name):
        audit_record(action="client.activate" if active else "client.suspend", actor=actor, target=client.slug)
    return client
