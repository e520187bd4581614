"""Tenants' writers. Import from here: `from tenants.services import organization_create`
or `from tenants import services; services.domain_add(...)`.

organizations: create, update, status, delete · domains: custom domains (DNS TXT check)
partners: the partner console's clients · bulk_imports: CSV import run by Celery
support: support access links · glue: seat rule and mail context handed to accounts ·
people: invite / role / deactivate / reactivate through accounts, metering agent seats."""

from tenants.provisioning import ProvisioningError
from tenants.services.bulk_imports import bulk_import_run, bulk_import_start
from tenants.services.domains import (
    MAX_CUSTOM_DOMAINS,
    WILDCARD_HOST_PATTERN,
    DomainRefused,
    domain_add,
    domain_remove,
    domain_verify,
)
from tenants.services.glue import mail_context_for, seat_check_for
from tenants.services.organizations import (
    HOST_PATTERN,
    PARENT_KINDS,
    RESERVED_SLUGS,
    organization_activate,
    organization_create,
    organization_delete,
    organization_set_status,
    organization_suspend,
    organization_update,
    schema_name_for,
    slug_from_name,
)
from tenants.services.partners import ClientRefused, partner_client_create, partner_client_set_active
from tenants.services.people import agent_deactivate, agent_invite, agent_reactivate, agent_set_role
from tenants.services.support import (
    SUPPORT_LINK_SECONDS,
    SUPPORT_SALT,
    SUPPORT_SESSION_SECONDS,
    SupportRefused,
    support_access_issue,
    support_access_redeem,
    support_identity_email,
)

__all__ = [
    "ProvisioningError",
    "organization_create",
    "organization_update",
    "organization_set_status",
    "organization_suspend",
    "organization_activate",
    "organization_delete",
    "slug_from_name",
    "schema_name_for",
    "HOST_PATTERN",
    "RESERVED_SLUGS",
    "PARENT_KINDS",
    "MAX_CUSTOM_DOMAINS",
    "WILDCARD_HOST_PATTERN",
    "DomainRefused",
    "domain_add",
    "domain_verify",
    "domain_remove",
    "ClientRefused",
    "partner_client_create",
    "partner_client_set_active",
    "bulk_import_start",
    "bulk_import_run",
    "SUPPORT_LINK_SECONDS",
    "SUPPORT_SESSION_SECONDS",
    "SUPPORT_SALT",
    "SupportRefused",
    "support_identity_email",
    "support_access_issue",
    "support_access_redeem",
    "seat_check_for",
    "mail_context_for",
    "agent_invite",
    "agent_set_role",
    "agent_deactivate",
    "agent_reactivate",
]
