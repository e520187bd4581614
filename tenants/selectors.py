from django.db.models import QuerySet

from tenants.models import Organization


def organization_get(*, slug: str) -> Organization:
    """Raises Organization.DoesNotExist."""
    return Organization.objects.select_related("plan", "parent").get(slug=slug)


def organization_list(*, status: str | None = None, parent_slug: str | None = None) -> QuerySet[Organization]:
    qs = Organization.objects.select_related("plan", "parent").order_by("slug")
    if status:
        qs = qs.filter(status=status)
    if parent_slug:
        qs = qs.filter(parent__slug=parent_slug)
    return qs
