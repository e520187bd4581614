"""Custom domains: add, verify by DNS TXT record, remove."""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.services import audit_record
from orbit.lib.errors import OrbitError
from tenants.dns import get_resolver
from tenants.models import Domain, Organization
from tenants.routing import invalidate_domain, tenant_host
from tenants.services.organizations import HOST_PATTERN, PARENT_KINDS

# --- custom domains --------------------------------------------------------------------
# A tenant (or partner) adds its own host; it routes only after its DNS TXT record
# `_orbit.<host>` holds `orbit-verify=<token>`. Partners and holdings may add a
# wildcard `*.<host>` that serves their clients at `<client slug>.<host>`.

MAX_CUSTOM_DOMAINS = 10
WILDCARD_HOST_PATTERN = re.compile(r"^\*\.(?P<host>.+)$")


class DomainRefused(OrbitError):
    """The domain change was refused; the message is for the person who asked."""

    code = "domain_refused"


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
