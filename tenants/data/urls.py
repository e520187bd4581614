from django.urls import path

from tenants.data import views

app_name = "tenant_data"

urlpatterns = [
    path("settings/data/", views.index, name="index"),
    path("settings/data/exports/<str:token>", views.download, name="download"),
]
