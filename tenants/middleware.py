"""Picks the schema for each request from its Host (django-tenants' job, with a cache)."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.http.request import split_domain_port
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from billing.selectors import suspended_for_payment
from orbit.lib.context import current_schema
from tenants.routing import is_platform_host, resolve_host

# Brand assets (logo, favicon, CSS) and static files stay served for a suspended tenant: its suspended page uses them.
BRAND_ASSETS_PATH = "/brand/"
# A tenant suspended for non-payment keeps the way to pay: log in, the plan page, its invoices.
PAYMENT_PATHS = ("/accounts/login/", "/accounts/logout/", "/settings/plan/", "/i18n/", "/static/")


def _may_pass_suspension(request, organization) -> bool:
    if request.path.startswith((BRAND_ASSETS_PATH, settings.STATIC_URL)):  # the suspended page's own styles
        return True
    return (organization.status == organization.Status.SUSPENDED and request.path.startswith(PAYMENT_PATHS)
            and suspended_for_payment(organization=organization))


def request_hostname(request) -> str:
    host, _port = split_domain_port(request.get_host())
    return host


def suspended_response(request, organization):
    # This middleware answers before LocaleMiddleware runs: speak the visitor's language here.
    with translation.override(translation.get_language_from_request(request)):
        return _suspended_response(request, organization)


def _suspended_response(request, organization):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": "tenant_suspended", "detail": _("Esta conta está suspensa. Fale com o suporte.")}, status=403
        )
    return render(request, "tenants/suspended.html", {
        "organization": organization, "may_pay": organization.status == organization.Status.SUSPENDED
        and suspended_for_payment(organization=organization)}, status=403)


class TenantRoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        connection.set_schema_to_public()
        hostname = request_hostname(request)
        if is_platform_host(hostname):
            request.tenant = None
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            token = current_schema.set("public")
        else:
            organization = resolve_host(hostname)
            if organization is None:
                return render(request, "tenants/unknown_host.html", {"host": hostname}, status=404)
            if organization.is_blocked and not _may_pass_suspension(request, organization):
                request.tenant = organization  # the suspended page wears the tenant's brand
                return suspended_response(request, organization)
            request.tenant = organization
            request.urlconf = settings.ROOT_URLCONF
            connection.set_tenant(organization)
            token = current_schema.set(organization.schema_name)
        try:
            return self.get_response(request)
        finally:
            current_schema.reset(token)
            connection.set_schema_to_public()
