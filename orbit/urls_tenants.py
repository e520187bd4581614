"""URLs on a tenant's host (`<slug>.<base>` or a verified custom domain)."""

from django.urls import include, path

from accounts.views import home
from orbit.views import BrandedPasswordResetView, set_language

urlpatterns = [
    path("", home, name="home"),
    # before accounts' own route of the same name: the e-mail goes out in the brand (issue 5)
    path("accounts/password-reset/", BrandedPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("accounts.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("chat.api.urls")),  # chat's JSON API: /api/widget/…, /inbox/api/…, /chat/files/…
    path("", include("chat.urls")),  # inbox, widget loader + iframe, reports
    path("settings/usage/", include("billing.urls")),
    # branding, tenant settings, partner console, support access (issue 5)
    path("brand/", include("branding.urls")),
    # tenant data (issue 15): the owner's data export, contacts' LGPD export and erasure
    path("", include("tenants.data.urls")),
    path("", include("chat.urls_privacy")),
    path("settings/", include("tenants.urls_settings")),
    path("clients/", include("tenants.urls_partner")),
    path("support/", include("tenants.urls_support")),
]
