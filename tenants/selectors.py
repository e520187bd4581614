from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from billing import metrics, periods
from billing.limits import seat_count
from billing.selectors import effective_limit, rollup
from tenants.models import BulkImport, Domain, Organization
from tenants.routing import tenant_host


def organization_get(*, slug: str) -> Organization:
    """Raises Organization.DoesNotExist."""
    return Organization.objects.select_related("plan", "parent").get(slug=slug)


def organization_detail(*, slug: str) -> Organization:
    """One organization with its domains (primary first) and `children_count`, for display.

    Raises Organization.DoesNotExist."""
    domains = Domain.objects.order_by("-is_primary", "domain")
    return (
        Organization.objects.select_related("plan", "parent")
        .prefetch_related(Prefetch("domains", queryset=domains))
        .annotate(children_count=Count("children"))
        .get(slug=slug)
    )


def organization_list(*, status: str | None = None, parent_slug: str | None = None) -> QuerySet[Organization]:
    """Organizations by slug, each annotated with `primary_domain` (one query for a listing)."""
    primary_domain = Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).values("domain")[:1]
    qs = (
        Organization.objects.select_related("plan", "parent")
        .annotate(primary_domain=Subquery(primary_domain))
        .order_by("slug")
    )
    if status:
        qs = qs.filter(status=status)
    if parent_slug:
        qs = qs.filter(parent__slug=parent_slug)
    return qs


# --- partner console ------------------------------------------------------------------
# Every read is scoped by parent = the requesting organization: another partner's client
# and a client that does not exist are the same DoesNotExist.

CONSOLE_KINDS = (Organization.Kind.PARTNER, Organization.Kind.HOLDING)


def console_access(*, organization: Organization | None, user) -> str | None:
    """"manage" (a partner's admins), "read" (a holding's admins) or None."""
    if organization is None or not getattr(user, "is_authenticated", False) or not user.is_tenant_admin:
        return None
    if organization.kind == Organization.Kind.PARTNER:
        return "manage"
    if organization.kind == Organization.Kind.HOLDING:
        return "read"
    return None


def partner_client_list(*, parent: Organization, query: str = "", status: str = "") -> QuerySet[Organization]:
    """The parent's direct children, searchable by name or slug, each with `primary_domain`."""
    primary_domain = Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).values("domain")[:1]
    qs = (
        Organization.objects.filter(parent=parent)
        .select_related("plan")
        .annotate(primary_domain=Subquery(primary_domain))
        .order_by("name", "slug")
    )
    query = (query or "").strip()
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(slug__icontains=query.lower()))
    if status in Organization.Status.values:
        qs = qs.filter(status=status)
    return qs


def partner_client_get(*, parent: Organization, slug: str) -> Organization:
    """Raises Organization.DoesNotExist for a missing slug and for another parent's client alike."""
    domains = Domain.objects.order_by("-is_primary", "domain")
    return (
        Organization.objects.select_related("plan", "parent")
        .prefetch_related(Prefetch("domains", queryset=domains))
        .get(parent=parent, slug=slug)
    )


def client_usage(*, clients) -> dict[int, dict[str, int]]:
    """Current-period usage per client (its whole tree), from billing's public meters."""
    period = periods.period_of(timezone.now())
    return {client.pk: rollup(organization=client, period=period) for client in clients}


def bulk_import_get(*, partner: Organization, job_id: int) -> BulkImport:
    """Raises BulkImport.DoesNotExist (also for another partner's import)."""
    return BulkImport.objects.get(pk=job_id, partner=partner)


def bulk_import_recent(*, partner: Organization, limit: int = 5) -> list[BulkImport]:
    return list(BulkImport.objects.filter(partner=partner).defer("rows")[:limit])


# --- custom domains -------------------------------------------------------------------


def domain_list(*, organization: Organization) -> QuerySet[Domain]:
    return Domain.objects.filter(tenant=organization).order_by("-is_primary", "domain")


def domain_get(*, organization: Organization, domain_id: int) -> Domain:
    """Raises Domain.DoesNotExist (also for another organization's domain)."""
    return Domain.objects.get(pk=domain_id, tenant=organization)


@dataclass(frozen=True)
class SeatUsage:
    used: int
    limit: int | None  # None = unlimited

    @property
    def full(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def seat_usage(*, organization: Organization) -> SeatUsage:
    """Seats taken and the effective limit, read-only (billing counts, billing decides)."""
    return SeatUsage(
        used=seat_count(organization=organization),
        limit=effective_limit(organization=organization, metric=metrics.AGENT_SEAT),
    )


def organization_base_url(*, organization: Organization) -> str:
    """The tenant's own address for links in e-mails (password reset, invitations): its
    primary domain (else `<slug>.<base>`), https behind TLS (ORBIT_SECURE_COOKIES), with
    ORBIT_PUBLIC_PORT when that is not the scheme's default — never a request's Host header,
    which a client writes."""
    primary = Domain.objects.filter(tenant=organization, is_primary=True).values_list("domain", flat=True).first()
    scheme = "https" if settings.SESSION_COOKIE_SECURE else "http"
    port = str(getattr(settings, "ORBIT_PUBLIC_PORT", "") or "")
    default = {"http": "80", "https": "443"}[scheme]
    return f"{scheme}://{primary or tenant_host(organization.slug)}" + (f":{port}" if port and port != default else "")
