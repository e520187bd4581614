"""Organizations: create, change status, delete. The only writers of tenants' rows."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.services import MailContext, SeatCheck, audit_record, support_identity_enter, user_send_welcome
from billing.limits import check_agent_seat
from billing.models import Plan
from branding.selectors import brand_asset_names, brand_email_headers, effective_brand
from branding.services import brand_assets_delete, brand_cache_invalidate
from tenants import bulk, provisioning
from tenants.dns import get_resolver
from tenants.models import SLUG_PATTERN, BulkImport, Domain, Organization, SupportGrant
from tenants.provisioning import ProvisioningError
from tenants.routing import (
    invalidate_domain,
    invalidate_hosts,
    invalidate_organization,
    organization_hosts,
    tenant_host,
    wildcard_hosts,
)
from tenants.selectors import partner_client_get

HOST_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
RESERVED_SLUGS = {"www", "admin", "api", "static", "media", "public", "template", "pool", "orbit"}
PARENT_KINDS = {Organization.Kind.PARTNER, Organization.Kind.HOLDING}

__all__ = [
    "ProvisioningError",
    "organization_create",
    "organization_update",
    "organization_set_status",
    "organization_suspend",
    "organization_activate",
    "organization_delete",
    "slug_from_name",
]


def schema_name_for(slug: str) -> str:
    return "t_" + slug.replace("-", "_")


def slug_from_name(name: str) -> str:
    """The slug an organization gets when none is given."""
    return slugify(name.strip())[:40].strip("-").lower()


def _validate_slug(slug: str) -> None:
    if not re.match(SLUG_PATTERN, slug):
        raise ProvisioningError(
            f"invalid slug {slug!r}: use 3 to 40 lowercase letters, digits and hyphens, starting with a letter"
        )
    if slug in RESERVED_SLUGS:
        raise ProvisioningError(f"the slug {slug!r} is reserved")
    if Organization.objects.filter(slug=slug).exists():
        raise ProvisioningError(f"an organization with slug {slug!r} already exists")


def _validate_domain(host: str) -> str:
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
    _validate_slug(slug)
    if kind not in Organization.Kind.values:
        raise ProvisioningError(f"invalid kind {kind!r} (kinds: {', '.join(Organization.Kind.values)})")
    if status not in Organization.Status.values:
        raise ProvisioningError(f"invalid status {status!r}")
    plan_obj = _resolve_plan(plan)
    parent_obj = _resolve_parent(parent)
    hosts = [_validate_domain(tenant_host(slug))]
    if domain:
        custom = _validate_domain(domain)
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

    with schema_context(schema_name):
        get_user_model().objects.create_user(
            email, owner_password, name=owner_name, role=get_user_model().Role.OWNER
        )

    # Hosts may be negatively cached from before they existed (its parent's wildcards too).
    hosts += wildcard_hosts(parent=parent_obj, slugs=[slug])
    transaction.on_commit(lambda: invalidate_hosts(hosts))
    if pooled:
        transaction.on_commit(_enqueue_pool_refill)
    return organization


def _enqueue_pool_refill() -> None:
    from tenants.tasks import schema_pool_refill

    try:
        schema_pool_refill.delay()
    except Exception:  # the beat schedule refills too; a broker hiccup must not fail a signup
        import logging

        logging.getLogger(__name__).warning("could not enqueue the pool refill", exc_info=True)


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
    if parent_obj is not None and any(a.pk == organization.pk for a in _ancestors(parent_obj)):
        raise ProvisioningError(f"{parent_obj.slug!r} cannot be the parent of {organization.slug!r}: it would make a cycle")
    organization.name = name
    organization.kind = kind
    organization.parent = parent_obj
    organization.plan = _resolve_plan(plan)
    organization.save(update_fields=["name", "kind", "parent", "plan"])
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
    """Drop the schema and every public row of the organization."""
    if organization.children.exists():
        raise ProvisioningError(
            f"{organization.slug!r} still has sub-organizations: delete or move them first"
        )
    hosts = organization_hosts(organization)
    assets = brand_asset_names(organization=organization)
    connection.set_schema_to_public()
    organization.delete(force_drop=True)
    transaction.on_commit(lambda: invalidate_hosts(hosts))
    transaction.on_commit(lambda: brand_assets_delete(names=assets))




# --- custom domains --------------------------------------------------------------------
# A tenant (or partner) adds its own host; it routes only after its DNS TXT record
# `_orbit.<host>` holds `orbit-verify=<token>`. Partners and holdings may add a
# wildcard `*.<host>` that serves their clients at `<client slug>.<host>`.

MAX_CUSTOM_DOMAINS = 10
WILDCARD_HOST_PATTERN = re.compile(r"^\*\.(?P<host>.+)$")


class DomainRefused(Exception):
    """The domain change was refused; the message is for the person who asked."""


def _is_reserved_host(host: str) -> bool:
    base = settings.ORBIT_BASE_DOMAIN.lower()
    platform = {h.lower() for h in settings.ORBIT_PLATFORM_HOSTS}
    return host in platform or host == base or host.endswith("." + base)


@transaction.atomic
def domain_add(*, organization: Organization, host: str, actor=None) -> Domain:
    """A new, unverified custom domain with its verification token."""

    host = (host or "").strip().lower().rstrip(".")
    wildcard = WILDCARD_HOST_PATTERN.match(host)
    bare = wildcard.group("host") if wildcard else host
    if not HOST_PATTERN.match(bare) or bare.count(".") < 1:
        raise DomainRefused(_("Informe um domínio válido, por exemplo chat.suaempresa.com.br."))
    if wildcard and organization.kind not in PARENT_KINDS:
        raise DomainRefused(_("Só parceiros e holdings podem usar um domínio curinga (*.)."))
    if wildcard and bare.count(".") < 2:
        raise DomainRefused(_("Use um curinga abaixo de um subdomínio, por exemplo *.chat.suaempresa.com.br."))
    if _is_reserved_host(bare):
        raise DomainRefused(_("Este domínio pertence à plataforma e não pode ser adicionado."))
    if Domain.objects.filter(domain=host).exists():
        raise DomainRefused(_("Este domínio já está em uso."))
    if Domain.objects.filter(tenant=organization, is_primary=False).count() >= MAX_CUSTOM_DOMAINS:
        raise DomainRefused(_("Limite de %(count)s domínios próprios atingido.") % {"count": MAX_CUSTOM_DOMAINS})
    domain = Domain.objects.create(
        domain=host,
        tenant=organization,
        is_primary=False,
        is_verified=False,
        verification_token=secrets.token_urlsafe(24),
    )
    with schema_context(organization.schema_name):
        audit_record(action="domain.add", actor=actor, target=host)
    return domain


@transaction.atomic
def domain_verify(*, organization: Organization, domain_id: int, actor=None, resolver=None) -> Domain:
    """Look the TXT record up; on a match the domain routes (cache invalidated on commit).

    Raises Domain.DoesNotExist (missing or not this organization's) or DomainRefused."""

    domain = Domain.objects.select_for_update().get(pk=domain_id, tenant=organization)
    if domain.is_verified:
        return domain
    try:
        records = (resolver or get_resolver()).txt_records(domain.txt_record_name)
    except Exception:  # a resolver failure is "not found yet", said clearly
        records = []
    if domain.txt_record_value not in [r.strip() for r in records]:
        raise DomainRefused(
            _("Não encontramos o registro TXT %(name)s com o valor %(value)s. A propagação do DNS pode levar alguns minutos.")
            % {"name": domain.txt_record_name, "value": domain.txt_record_value}
        )
    domain.is_verified = True
    domain.verified_at = timezone.now()
    domain.save(update_fields=["is_verified", "verified_at"])
    with schema_context(organization.schema_name):
        audit_record(action="domain.verify", actor=actor, target=domain.domain)
    transaction.on_commit(lambda: invalidate_domain(domain))
    return domain


@transaction.atomic
def domain_remove(*, organization: Organization, domain_id: int, actor=None) -> None:
    """Raises Domain.DoesNotExist or DomainRefused (the base subdomain stays)."""

    domain = Domain.objects.select_for_update().get(pk=domain_id, tenant=organization)
    if domain.is_primary or domain.domain == tenant_host(organization.slug):
        raise DomainRefused(_("O endereço principal da conta não pode ser removido."))
    snapshot = Domain(pk=domain.pk, domain=domain.domain, tenant_id=domain.tenant_id)
    domain.delete()
    with schema_context(organization.schema_name):
        audit_record(action="domain.remove", actor=actor, target=snapshot.domain)
    transaction.on_commit(lambda: invalidate_domain(snapshot))


# --- partner console: clients ----------------------------------------------------------


class ClientRefused(Exception):
    """A partner console action was refused; the message is for the person who asked."""


def host_base_url(*, host: str, scheme: str = "https", port: str | int | None = None) -> str:
    port = str(port or "")
    default = {"http": "80", "https": "443"}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _client_mail(client: Organization, *, scheme: str, port) -> MailContext:
    host = client.get_primary_domain()
    base_url = host_base_url(host=host.domain if host else tenant_host(client.slug), scheme=scheme, port=port)
    return mail_context_for(organization=client, base_url=base_url)


def _welcome_owner(client: Organization, owner_email: str, *, scheme: str, port, invited_by_name: str) -> None:
    mail = _client_mail(client, scheme=scheme, port=port)
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
    scheme: str = "https",
    port: str | int | None = None,
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
    _welcome_owner(client, owner_email, scheme=scheme, port=port, invited_by_name=partner.name)
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


# --- partner console: bulk import ------------------------------------------------------


@transaction.atomic
def bulk_import_start(
    *, partner: Organization, data: bytes, actor, scheme: str = "https", port: str | int | None = None
) -> BulkImport:
    """Check the whole CSV, then queue its rows (created by a Celery task, row by row).

    Raises bulk.BulkFileError (nothing queued) or ClientRefused."""
    _require_partner(partner)
    rows = bulk.parse_bulk_upload(data)
    missing = [str(row.number) for row in rows if not row.fields.get("owner_email")]
    if missing:
        raise bulk.BulkFileError(_("nada foi criado: informe owner_email nas linhas %(rows)s") % {"rows": ", ".join(missing[:10])})
    job = BulkImport.objects.create(
        partner=partner,
        created_by_email=getattr(actor, "email", "") or "",
        rows=[{"number": row.number, "fields": row.fields} for row in rows],
        total=len(rows),
        options={"scheme": scheme, "port": str(port or "")},
    )
    transaction.on_commit(lambda: _enqueue_bulk_import(job.pk))
    return job


def _enqueue_bulk_import(job_id: int) -> None:
    from tenants.tasks import bulk_import_run as task

    task.delay(job_id)


def bulk_import_run(*, job_id: int) -> BulkImport:
    """Create the queued rows, committing progress after each one; safe to run again
    (it resumes after the last processed row)."""
    connection.set_schema_to_public()
    with transaction.atomic():
        job = BulkImport.objects.select_for_update().get(pk=job_id)
        if job.status == BulkImport.Status.DONE:
            return job
        job.status = BulkImport.Status.RUNNING
        job.save(update_fields=["status"])
    partner = job.partner
    for row in job.rows[job.processed :]:
        fields = row["fields"]
        result = {"row": row["number"], "name": fields.get("name", ""), "ok": False, "slug": "", "error": ""}
        try:
            client = partner_client_create(
                partner=partner,
                name=fields["name"],
                plan=fields["plan"],
                slug=fields.get("slug"),
                owner_email=fields["owner_email"],
                scheme=job.options.get("scheme", "https"),
                port=job.options.get("port") or None,
            )
        except (ProvisioningError, ClientRefused, IntegrityError) as exc:
            result["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        else:
            result.update(ok=True, slug=client.slug)
        connection.set_schema_to_public()
        job.results = [*job.results, result]
        job.processed += 1
        job.save(update_fields=["results", "processed"])
    job.status = BulkImport.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job


# --- partner console: support access ---------------------------------------------------

SUPPORT_LINK_SECONDS = 120  # to open the link once issued
SUPPORT_SESSION_SECONDS = 30 * 60  # the support session then lasts at most this long
SUPPORT_SALT = "orbit.tenants.support-access"


class SupportRefused(Exception):
    """The support link is invalid, expired, used, or not for this host."""


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
    raw = secrets.token_urlsafe(32)
    grant = SupportGrant.objects.create(
        partner=partner,
        client=client,
        issued_by_email=issued_by.email,
        issued_by_name=issued_by.name or "",
        token_hash=_token_hash(raw),
        expires_at=timezone.now() + timedelta(seconds=SUPPORT_LINK_SECONDS),
    )
    with schema_context(partner.schema_name):
        audit_record(action="support.issue", actor=issued_by, target=client.slug, detail={"grant": grant.pk})
    return client, signing.dumps({"g": grant.pk, "k": raw}, salt=SUPPORT_SALT)


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


# --- tenant settings: glue handed to accounts' services ----------------------------------


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
