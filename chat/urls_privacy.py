"""LGPD (issue 15): orbit.urls_tenants includes this at the root."""

from django.urls import path

from chat.views import privacy

app_name = "chat_privacy"

urlpatterns = [
    path("settings/privacy/", privacy.index, name="index"),
    path("settings/privacy/contacts/<int:contact_id>/export", privacy.contact_export, name="contact_export"),
    path("settings/privacy/contacts/<int:contact_id>/erase", privacy.contact_erase, name="contact_erase"),
    path("api/v1/contacts/<int:contact_id>/export", privacy.api_contact_export, name="api_contact_export"),
    path("api/v1/contacts/<int:contact_id>/erase", privacy.api_contact_erase, name="api_contact_erase"),
]
