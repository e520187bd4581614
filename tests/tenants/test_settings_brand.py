"""/settings/brand/: owners and admins only; bad input is a form error and changes nothing."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from branding.models import Brand
from branding.selectors import effective_brand
from tests.branding.conftest import commit, media, two_partners  # noqa: F401
from tests.branding.test_safety import PNG
from tests.conftest import host_client
from tests.factories import UserFactory, logged_in, owner_email

FORM = {
    "company_name": "Padaria Central Atende",
    "primary_color": "#aa5500",
    "secondary_color": "",
    "email_sender_name": "",
    "email_reply_to": "",
    "widget_greeting": "Bom dia! Pão quentinho?",
    "widget_offline_message": "",
    "show_powered_by": "",
    "custom_css": "",
}


def _agent(org, email="agente@padaria.example"):
    from django_tenants.utils import schema_context

    with schema_context(org.schema_name):
        UserFactory(email=email, role="agent")
    return email


def test_owner_saves_the_brand_and_every_page_follows(two_partners, commit, media):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    client = logged_in("padaria.localhost", owner_email("padaria"))
    assert client.get("/settings/brand/").status_code == 200
    with commit():
        response = client.post("/settings/brand/", {**FORM, "logo": SimpleUploadedFile("logo.png", PNG, "image/png")})
    assert response.status_code == 302
    brand = effective_brand(padaria)
    assert brand.company_name == "Padaria Central Atende" and brand.primary_color == "#aa5500"
    assert brand.logo_name.startswith("whitelabel/t_padaria/logo/")
    assert "--orbit-primary: #aa5500;" in client.get("/").content.decode()
    assert effective_brand(oficina).company_name == "Orbit"  # nobody else's brand moved


def test_bad_uploads_are_form_errors_and_the_previous_brand_stays(two_partners, commit, media):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    client = logged_in("padaria.localhost", owner_email("padaria"))
    with commit():
        client.post("/settings/brand/", {**FORM, "logo": SimpleUploadedFile("logo.png", PNG, "image/png")})
    before = Brand.objects.get(organization=padaria)
    attempts = {
        "logo": SimpleUploadedFile("logo.png", b"GIF89a" + b"\x00" * 64, "image/png"),  # lies about its type
        "favicon": SimpleUploadedFile("icon.ico", b"\x00\x00\x01\x00\x01\x00" + b"\x00" * (200 * 1024), "image/x-icon"),
    }
    for field, upload in attempts.items():
        response = client.post("/settings/brand/", {**FORM, "company_name": "Mudou?", field: upload})
        assert response.status_code == 400
        assert response.context["form"].errors[field]
    response = client.post("/settings/brand/", {**FORM, "company_name": "Mudou?", "custom_css": "a{behavior:url(x)}"})
    assert response.status_code == 400 and "behavior" in response.context["form"].errors["custom_css"][0]
    response = client.post("/settings/brand/", {**FORM, "primary_color": "red; } body { display: none"})
    assert response.status_code == 400 and response.context["form"].errors["primary_color"]
    after = Brand.objects.get(organization=padaria)
    assert (after.company_name, after.logo, after.favicon, after.custom_css) == (
        before.company_name, before.logo, before.favicon, before.custom_css)


def test_hiding_powered_by_needs_white_label(two_partners):  # noqa: F811
    zap, *_ = two_partners
    client = logged_in("zap.localhost", owner_email("zap"))
    response = client.post("/settings/brand/", {**FORM, "show_powered_by": "hide"})
    assert response.status_code == 400 and "White-label" in response.context["form"].errors["show_powered_by"][0]


def test_agents_and_strangers_never_reach_settings(two_partners):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    email = _agent(padaria)
    agent = logged_in("padaria.localhost", email)
    for path in ("/settings/", "/settings/brand/", "/settings/agents/", "/settings/plan/", "/settings/domains/",
                 "/settings/audit/"):
        assert agent.get(path).status_code == 404, path
    assert agent.post("/settings/brand/", FORM).status_code == 404
    assert "Configurações" not in agent.get("/").content.decode()
    anonymous = host_client("padaria.localhost").get("/settings/brand/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_a_tenant_admin_never_reaches_another_tenants_brand(two_partners, commit):  # noqa: F811
    zap, nuvem, padaria, oficina = two_partners
    oficina_owner = logged_in("oficina.localhost", owner_email("oficina"))
    # their session is worth nothing on padaria's host
    intruder = host_client("padaria.localhost")
    intruder.cookies["sessionid"] = oficina_owner.cookies["sessionid"].value
    response = intruder.post("/settings/brand/", {**FORM, "company_name": "Invadido"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # and what they save on their own host is only theirs
    with commit():
        oficina_owner.post("/settings/brand/", {**FORM, "company_name": "Oficina Atende"})
    assert effective_brand(oficina).company_name == "Oficina Atende"
    assert effective_brand(padaria).company_name == "Orbit"
    assert not Brand.objects.filter(organization=padaria).exists()
