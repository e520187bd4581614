"""Brand assets served from the tenant's own host: /brand/logo, /brand/favicon,
/brand/custom.css. Public (the login page needs them), read from the effective brand."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe

from branding.selectors import effective_brand
from branding.storage import asset_read, asset_version

LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"
# An SVG opened directly must not run anything, even if the sanitizer missed something.
ASSET_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def _serve(request, name: str, content_type: str) -> HttpResponse:
    if not name:
        raise Http404
    data = asset_read(name)
    if data is None:
        raise Http404
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = LONG_CACHE if request.GET.get("v") == asset_version(name) else SHORT_CACHE
    response["Content-Security-Policy"] = ASSET_CSP
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def logo(request):
    brand = effective_brand(request.tenant)
    return _serve(request, brand.logo_name, brand.logo_content_type)


@require_safe
def favicon(request):
    brand = effective_brand(request.tenant)
    return _serve(request, brand.favicon_name, brand.favicon_content_type)


@require_safe
def custom_css(request):
    brand = effective_brand(request.tenant)
    response = HttpResponse(brand.custom_css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = SHORT_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response
