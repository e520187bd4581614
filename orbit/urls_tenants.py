"""URLs on a tenant's host (`<slug>.<base>` or a verified custom domain)."""

from django.urls import include, path

from accounts.views import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("chat.api.urls")),  # chat's JSON API: /api/widget/…, /inbox/api/…, /chat/files/…
    path("settings/usage/", include("billing.urls")),
]
