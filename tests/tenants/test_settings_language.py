"""pt-BR by default, English from the browser, and a person's own language wherever they go."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core import mail
from django_tenants.utils import schema_context

from tests.conftest import host_client
from tests.factories import logged_in, owner_email

User = get_user_model()


def test_pages_follow_the_browser_then_the_person(db, tenant):
    assert "Esqueceu a senha?" in host_client("alpha.localhost").get("/accounts/login/").content.decode()
    english = host_client("alpha.localhost", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get("/accounts/login/")
    assert "Forgot your password?" in english.content.decode() and english["Content-Language"] == "en"

    # a person who chose English gets it even from a Portuguese browser
    client = logged_in("alpha.localhost", owner_email("alpha"))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    with schema_context(tenant.schema_name):
        assert User.objects.get(email=owner_email("alpha")).language == "en"
    fresh = host_client("alpha.localhost", HTTP_ACCEPT_LANGUAGE="pt-BR")
    fresh.post("/accounts/login/", {"username": owner_email("alpha"), "password": "senha-forte-123"})
    page = fresh.get("/settings/brand/").content.decode()
    assert "Save brand" in page and "Log out" in page and "Salvar marca" not in page


def test_emails_are_written_in_the_recipients_language(db, tenant, django_capture_on_commit_callbacks):
    with schema_context(tenant.schema_name):
        User.objects.filter(email=owner_email("alpha")).update(language="en")
    with django_capture_on_commit_callbacks(execute=True):
        host_client("alpha.localhost").post("/accounts/password-reset/", {"email": owner_email("alpha")})
    assert "Password reset" in mail.outbox[-1].subject
    assert "Open the link below to choose a new password" in mail.outbox[-1].body
