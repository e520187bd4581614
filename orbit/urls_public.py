"""URLs on the platform host (public schema): the operator's admin."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Orbit · operação"
admin.site.site_title = "Orbit"
admin.site.index_title = "Painel do operador"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
