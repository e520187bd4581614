"""`brand` in every template: the effective brand of the host's organization (the
platform default on the platform host and on unknown hosts). Lazy: a response that
never renders it costs nothing."""

from django.utils.functional import SimpleLazyObject

from branding.selectors import effective_brand


def brand(request):
    organization = getattr(request, "tenant", None)
    return {"brand": SimpleLazyObject(lambda: effective_brand(organization))}
