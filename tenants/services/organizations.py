"""Organizations: create, change status, delete. The only writers of tenants' rows."""

from __future__ import annotations

import logging
import re

from celery import current_app
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from billing import meters, metrics
from billing.models import Plan
from billing.selectors import tree_ids
from billing.services import limits_profile_forget, subscription_start, subscription_sync_plan
from branding.selectors import brand_asset_names
from branding.services import brand_assets_delete, brand_cache_invalidate
from orbit.lib.storage import delete_prefix, tenant_prefix
from tenants import provisioning
from tenants.models import SLUG_PATTERN, Domain, Organization
from tenants.provisioning import ProvisioningError
from tenants.routing import (
    invalidate_hosts,
    invalidate_organization,
    organization_hosts,
    tenant_host,
    wildcard_hosts,
)
from tenants.services.people import seat_key
from tenants.slugs import slug_from_name

HOST_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
RESERVED_SLUGS = {"www", "admin", "api", "static", "media", "public", "template", "pool", "orbit"}
PARENT_KINDS = {Organization.Kind.PARTNER, Organization.Kind.HOLDING}


def schema_name_for(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def validate_slug(slug: str) -> None:
    if not re.match(SLUG_PATTERN, slug):
        raise ProvisioningError(
            f"invalid slug {slug!r}: use 3 to 40 lowercase letters, digits and hyphens, starting with a letter"
        )
    if slug in RESERVED_SLUGS:
        raise ProvisioningError(f"the slug {slug!r} is reserved")
    if Organization.objects.filter(slug=slug).exists():
        raise ProvisioningError(f"an organization with slug {slug!r} already exists")


def validate_domain(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if not HOST_PATTERN.match(host):
        raise ProvisioningError(f"invalid domain {host!r}")
    if Domain.objects.filter(domain=host).exists():
        raise ProvisioningError(f"the domain {host!r} is already in use")
    return host


def _resolve_plan(plan: Plan | str) -> Plan:
    if isinstance(plan, Plan):
        return plan
    try:
        return Plan.objects.get(code=plan)
    except Plan.DoesNotExist:
        codes = ", ".join(Plan.objects.values_list("code", flat=True))
        raise ProvisioningError(f"unknown plan {plan!r} (plans: {codes})") from None


def _resolve_parent(parent: Organization | str | None) -> Organization | None:
    if parent is None or isinstance(parent, Organization):
        org = parent
    else:
        org = Organization.objects.filter(slug=parent).first()
        if org is None:
            raise ProvisioningError(f"unknown parent organization {parent!r}")
    if org is not None and org.kind not in PARENT_KINDS:
        raise ProvisioningError(f"{org.slug!r} is a {org.kind}: only partners and holdings have sub-organizations")
    return org


def _validate_owner(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ProvisioningError(f"invalid owner e-mail {email!r}") from None
    return email


@transaction.atomic
def organization_create(
    *,
    name: str,
    plan: Plan | str,
    slug: str | None = None,
    kind: str = Organization.Kind.COMPANY,
    parent: Organization | str | None = None,
    domain: str | None = None,
    owner_email: str | None = None,
    owner_password: str | None = None,
    owner_name: str = "",
    status: str = Organization.Status.TRIAL,
    use_pool: bool = True,
) -> Organization:
    """Create an organization with its schema, domains and owner, all or nothing.

    The schema comes from the warm pool (a rename) or, when it is empty, a clone of the
    template; PostgreSQL DDL is transactional, so a failure anywhere leaves no schema,
    row or domain behind and a claimed pool schema goes back to the pool."""
    name = (name or "").strip()
    if not name:
        raise ProvisioningError("a name is required")
    name_max_length = Organization._meta.get_field("name").max_length
    if len(name) > name_max_length:
        raise ProvisioningError(f"the name is too long: at most {name_max_length} characters")
    slug = (slug or slug_from_name(name)).lower()
    validate_slug(slug)
    if kind not in Organization.Kind.values:
        raise ProvisioningError(f"invalid kind {kind!r} (kinds: {', '.join(Organization.Kind.values)})")
    if status not in Organization.Status.values:
        raise ProvisioningError(f"invalid status {status!r}")
    plan_obj = _resolve_plan(plan)
    parent_obj = _resolve_parent(parent)
    hosts = [validate_domain(tenant_host(slug))]
    if domain:
        custom = validate_domain(domain)
        if custom in hosts:
            raise ProvisioningError(f"the domain {custom!r} is already the organization's own subdomain")
        hosts.append(custom)
    email = _validate_owner(owner_email or f"owner@{tenant_host(slug)}")

    schema_name = schema_name_for(slug)
    pooled = provisioning.pool_take() if use_pool else None
    if pooled:
        provisioning.schema_rename(pooled, schema_name)
    else:
        provisioning.schema_clone(schema_name)

    organization = Organization.objects.create(
        schema_name=schema_name,
        name=name,
        slug=slug,
        kind=kind,
        parent=parent_obj,
        status=status,
        plan=plan_obj,
        status_changed_at=timezone.now(),
    )
    for index, host in enumerate(hosts):
        Domain.objects.create(domain=host, tenant=organization, is_primary=index == 0, is_verified=True)
    subscription_start(organization=organization, plan=plan_obj)

    with schema_context(schema_name):
        get_user_model().objects.create_user(
            email, owner_password, name=owner_name, role=get_user_model().Role.OWNER
        )
    # the owner holds the first seat: the agent_seat gauge starts from a reading
    meters.record(organization=organization, metric=metrics.AGENT_SEAT, quantity=1,
                  idempotency_key=seat_key(organization=organization, action="org.create", change_id=organization.pk))

    # Hosts may be negatively cached from before they existed (its parent's wildcards too).
    hosts += wildcard_hosts(parent=parent_obj, slugs=[slug])
    transaction.on_commit(lambda: invalidate_hosts(hosts))
    if pooled:
        transaction.on_commit(_enqueue_pool_refill)
    return organization


# Celery's name of the pool refill (tenants.tasks registers it; enqueued by name: a message on
# the queue, so services need not import the tasks that call them).
POOL_REFILL_TASK = "tenants.tasks.schema_pool_refill"


def _enqueue_pool_refill() -> None:
    try:
        current_app.send_task(POOL_REFILL_TASK)
    except Exception:  # the beat schedule refills too; a broker hiccup must not fail a signup
        logging.getLogger("tenants.services").warning("could not enqueue the pool refill", exc_info=True)


def _ancestors(organization: Organization | None):
    seen = set()
    while organization is not None and organization.pk not in seen:
        seen.add(organization.pk)
        yield organization
        organization = organization.parent


@transaction.atomic
def organization_update(
    *,
    organization: Organization,
    name: str,
    kind: str,
    parent: Organization | str | None,
    plan: Plan | str,
    status: str | None = None,
) -> Organization:
    """Change an organization's name, place in the tree, plan and (through
    organization_set_status) status. Slug and schema never change."""
    name = (name or "").strip()
    if not name:
        raise ProvisioningError("a name is required")
    if kind not in Organization.Kind.values:
        raise ProvisioningError(f"invalid kind {kind!r} (kinds: {', '.join(Organization.Kind.values)})")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if kind not in PARENT_KINDS and organization.children.exists():
        raise ProvisioningError(
            f"{organization.slug!r} has sub-organizations: only partners and holdings can have them"
        )
    parent_obj = _resolve_parent(parent)
    new_ancestors = [a.pk for a in _ancestors(parent_obj)]
    if organization.pk in new_ancestors:
        raise ProvisioningError(f"{parent_obj.slug!r} cannot be the parent of {organization.slug!r}: it would make a cycle")
    old_ancestors = [a.pk for a in _ancestors(organization.parent)]
    new_plan = _resolve_plan(plan)
    if new_plan.pk != organization.plan_id:
        subscription_sync_plan(organization=organization, plan=new_plan)
    organization.name = name
    organization.kind = kind
    organization.parent = parent_obj
    organization.plan = new_plan
    organization.save(update_fields=["name", "kind", "parent", "plan"])
    # Its limits (plan), its tree's ancestors (parent) and the tree totals above it: billing
    # drops the cached limits profiles now and on commit, so the next check uses the new ones.
    limits_profile_forget(
        organization_ids=tree_ids(organization_id=organization.pk) + old_ancestors + new_ancestors
    )
    # The routing cache holds the organization itself (name, plan): refresh it. The
    # effective brand depends on the tree and the plan (white_label) too.
    transaction.on_commit(lambda: invalidate_organization(organization))
    transaction.on_commit(lambda: brand_cache_invalidate(organization=organization))
    if status is not None and status != organization.status:
        organization = organization_set_status(organization=organization, status=status)
    return organization


@transaction.atomic
def organization_set_status(*, organization: Organization, status: str) -> Organization:
    if status not in Organization.Status.values:
        raise ProvisioningError(f"invalid status {status!r}")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.status != status:
        organization.status = status
        organization.status_changed_at = timezone.now()
        organization.save(update_fields=["status", "status_changed_at"])
        transaction.on_commit(lambda: invalidate_organization(organization))
    return organization


def organization_suspend(*, organization: Organization) -> Organization:
    return organization_set_status(organization=organization, status=Organization.Status.SUSPENDED)


def organization_activate(*, organization: Organization) -> Organization:
    return organization_set_status(organization=organization, status=Organization.Status.ACTIVE)


@transaction.atomic
def organization_delete(*, organization: Organization) -> None:
    """Drop the schema and every public row of the organization; once that commits, its
    stored files (uploads, backups, exports under tenants/<schema>/) and brand assets."""
    if organization.children.exists():
        raise ProvisioningError(
            f"{organization.slug!r} still has sub-organizations: delete or move them first"
        )
    hosts = organization_hosts(organization)
    assets = brand_asset_names(organization=organization)
    files = tenant_prefix(organization.schema_name)
    connection.set_schema_to_public()
    organization.delete(force_drop=True)
    transaction.on_commit(lambda: invalidate_hosts(hosts))
    transaction.on_commit(lambda: brand_assets_delete(names=assets))
    transaction.on_commit(lambda: delete_prefix(files))
