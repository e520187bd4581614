from django.urls import path

from branding import views

app_name = "branding"

urlpatterns = [
    path("logo", views.logo, name="logo"),
    path("favicon", views.favicon, name="favicon"),
    path("custom.css", views.custom_css, name="custom_css"),
]
