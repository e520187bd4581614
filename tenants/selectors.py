from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery

from tenants.models import Domain, Organization


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
