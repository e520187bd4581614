from django.urls import path

from tenants.views import support as views

app_name = "support"

urlpatterns = [
    path("enter/", views.enter, name="enter"),
]
