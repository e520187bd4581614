"""URLs on the platform host (public schema): the operator's admin."""

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import path, reverse_lazy
from django.views.generic import RedirectView

admin.site.site_header = "Orbit · operação"
admin.site.site_title = "Orbit"
admin.site.index_title = "Painel do operador"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # Before the admin's own logout: settings.LOGOUT_REDIRECT_URL names the tenants' login page,
    # which this urlconf does not have. POST only, as Django's (a GET answers 405).
    path("admin/logout/", LogoutView.as_view(next_page=reverse_lazy("admin:login")), name="platform_logout"),
    path("admin/", admin.site.urls),
]
