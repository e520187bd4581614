from django.urls import path

from tenants.views import partner as views

app_name = "partner"

urlpatterns = [
    path("", views.client_list, name="list"),
    path("new/", views.client_create, name="create"),
    path("import/", views.client_import, name="import"),
    path("import/<int:job_id>/", views.client_import_detail, name="import_detail"),
    path("import/<int:job_id>/progress/", views.client_import_progress, name="import_progress"),
    path("<slug:slug>/", views.client_detail, name="detail"),
    path("<slug:slug>/status/", views.client_status, name="status"),
    path("<slug:slug>/plan/", views.client_plan, name="plan"),
    path("<slug:slug>/support/", views.client_support, name="support"),
]
