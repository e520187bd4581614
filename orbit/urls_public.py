"""URLs on the platform host (public schema): the operator's admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, reverse_lazy
from django.utils.translation import gettext_lazy
from django.views.generic import RedirectView

from accounts import views as accounts_views

admin.site.site_header = gettext_lazy("Orbit · operação")
admin.site.site_title = "Orbit"
admin.site.index_title = gettext_lazy("Painel do operador")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # Before the admin's own logout: settings.LOGOUT_REDIRECT_URL names the tenants' login page,
    # which this urlconf does not have. POST only, as Django's (a GET answers 405).
    path("admin/logout/", accounts_views.LogoutView.as_view(next_page=reverse_lazy("admin:login")), name="platform_logout"),
    # The operator's login has two steps (password, then a TOTP code; enrolment the first time).
    path("admin/login/", accounts_views.PlatformLoginView.as_view(), name="platform_login"),
    path("admin/login/verify/", accounts_views.login_verify, name="platform_login_verify"),
    path("admin/login/setup/", accounts_views.login_setup, name="platform_login_setup"),
    path("admin/", admin.site.urls),
]

if "djstripe" in settings.INSTALLED_APPS:  # Stripe on (billing/stripe): dj-stripe's webhook endpoint,
    from billing.stripe.views import WebhookView  # its view behind a guard for non-object JSON bodies

    urlpatterns += [
        path("stripe/webhook/<uuid:uuid>/", WebhookView.as_view(), name="stripe_webhook"),
        path("stripe/", include("djstripe.urls", namespace="djstripe")),  # the same path, for reverse()
    ]
