"""Header-bound brand fields (issue 12, item 5): a sender or company name with CR/LF/NUL is
refused where it is typed, and one already stored never breaks the tenant's e-mails (nor
its partner's clients', who inherit it)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.core import mail

from branding.cache import invalidate_brands
from branding.models import Brand
from branding.selectors import brand_email_headers, effective_brand
from branding.services import BrandRefused, brand_update
from tests.branding.conftest import commit, media, two_partners  # noqa: F401
from tests.conftest import host_client
from tests.factories import logged_in, owner_email
from tests.tenants.test_settings_brand import FORM

INJECTION = "Zap\r\nBcc: vitima@example.com"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email_sender_name", INJECTION),
        ("email_sender_name", "Zap\nAtende"),
        ("email_sender_name", "Zap\x0bAtende"),
        ("company_name", "Zap\rAtende"),
        ("company_name", "Zap\u2028Atende"),
    ],
)
def test_the_brand_form_refuses_line_breaks_in_header_fields(two_partners, commit, field, value):  # noqa: F811
    zap, *_ = two_partners
    client = logged_in("zap.localhost", owner_email("zap"))
    with commit():
        client.post("/settings/brand/", {**FORM, "company_name": "Zap Atende", "email_sender_name": "Suporte Zap"})

    response = client.post("/settings/brand/", {**FORM, "company_name": "Zap Atende", field: value})

    assert response.status_code == 400
    assert "única linha" in response.context["form"].errors[field][0]
    stored = Brand.objects.get(organization=zap)
    assert (stored.company_name, stored.email_sender_name) == ("Zap Atende", "Suporte Zap")


def test_the_error_is_in_english_for_an_english_speaker(two_partners):  # noqa: F811
    client = logged_in("zap.localhost", owner_email("zap"))
    client.cookies["django_language"] = "en"
    response = client.post("/settings/brand/", {**FORM, "email_sender_name": INJECTION})
    assert response.status_code == 400
    assert response.context["form"].errors["email_sender_name"] == [
        "Use a single line, without line breaks or control characters."
    ]


def test_the_service_refuses_nul_and_lone_surrogates_and_stores_nothing(two_partners):  # noqa: F811
    zap, *_ = two_partners
    for fields in ({"email_sender_name": "Zap\x00"}, {"widget_greeting": "Oi\x00"}, {"widget_offline_message": "\ud800"}):
        with pytest.raises(BrandRefused) as refused:
            brand_update(organization=zap, **fields)
        assert set(refused.value.errors) == set(fields)
    assert not Brand.objects.filter(organization=zap).exists()


def test_multi_line_widget_texts_stay_allowed(two_partners):  # noqa: F811
    zap, *_ = two_partners
    brand = brand_update(organization=zap, widget_offline_message="Volte amanhã.\nAtendemos das 8h às 18h.")
    assert "\n" in brand.widget_offline_message


def test_a_stored_bad_sender_name_never_breaks_the_reset_mail_of_the_tenant_or_its_clients(
    two_partners, commit, media  # noqa: F811
):
    zap, nuvem, padaria, oficina = two_partners
    with commit():
        brand_update(organization=zap, company_name="Zap Atende", email_reply_to="ajuda@zap.example")
    # stored before the check existed (the service refuses it now)
    Brand.objects.filter(organization=zap).update(email_sender_name=INJECTION)
    invalidate_brands(zap.pk)
    assert effective_brand(padaria).email_sender_name == INJECTION  # the client inherits it

    for slug in ("zap", "padaria"):
        mail.outbox.clear()
        with commit():
            response = host_client(f"{slug}.localhost").post("/accounts/password-reset/", {"email": owner_email(slug)})
        assert response.status_code == 302, slug
        assert len(mail.outbox) == 1, slug
        message = mail.outbox[0].message()  # what goes on the wire; raises BadHeaderError if unsafe
        assert "\n" not in message["From"] and "Bcc" not in message
        assert "Zap Bcc: vitima@example.com" in str(message["From"])
        assert "vitima@example.com" not in mail.outbox[0].recipients()


def test_email_headers_fall_back_when_the_names_are_only_control_characters(two_partners):  # noqa: F811
    zap, *_ = two_partners
    brand = effective_brand(zap)
    bad = replace(brand, email_sender_name="\r\n", company_name="\x00", email_reply_to="a@b.example\r\nBcc: x@y")
    from_email, reply_to = brand_email_headers(bad)
    assert from_email == "Orbit <no-reply@orbit.localhost>" and reply_to == []
    ok = replace(brand, email_sender_name="", company_name="Zap\tAtende")
    assert brand_email_headers(ok)[0] == "Zap Atende <no-reply@orbit.localhost>"
