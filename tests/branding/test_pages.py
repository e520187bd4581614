"""The brand on every page of a tenant's host, its assets, and its e-mails."""

from __future__ import annotations

import re

from django.core import mail

from branding.services import brand_update
from tenants.services import organization_suspend, organization_update
from tests.branding.test_safety import PNG, SVG_ATTACK
from tests.conftest import host_client
from tests.factories import logged_in, owner_email


def _brand_zap(zap, commit, **extra):
    with commit():
        brand_update(
            organization=zap, company_name="Zap Atende", primary_color="#e4002b", secondary_color="#222222",
            logo=PNG, favicon=PNG, custom_css=".card { border: 3px solid #e4002b }",
            email_sender_name="Suporte Zap", email_reply_to="ajuda@zap.example", **extra,
        )


def test_login_page_wears_the_partner_brand(two_partners, commit, media):
    zap, nuvem, padaria, oficina = two_partners
    _brand_zap(zap, commit)
    body = host_client("padaria.localhost").get("/accounts/login/").content.decode()
    assert re.search(r"<title>[^<]*Zap Atende</title>", body)
    assert '<link rel="icon" href="/brand/favicon?v=' in body
    assert "--orbit-primary: #e4002b;" in body and "--orbit-secondary: #222222;" in body
    assert '<img class="brand-logo" src="/brand/logo?v=' in body
    assert '<link rel="stylesheet" href="/brand/custom.css?v=' in body
    assert "Tecnologia Orbit" in body  # powered by, no white label here
    # the other partner's client: none of it
    other = host_client("oficina.localhost").get("/accounts/login/").content.decode()
    assert "Zap Atende" not in other and "#e4002b" not in other and "/brand/logo" not in other


def test_brand_assets_are_served_from_the_tenants_own_host(two_partners, commit, media):
    zap, nuvem, padaria, oficina = two_partners
    _brand_zap(zap, commit)
    client = host_client("padaria.localhost")
    css = client.get("/brand/custom.css")
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css")
    assert "border: 3px solid #e4002b" in css.content.decode()
    logo = client.get("/brand/logo")
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png" and logo.content == PNG
    assert logo["X-Content-Type-Options"] == "nosniff" and "sandbox" in logo["Content-Security-Policy"]
    versioned = client.get(effective_url(client, "logo"))
    assert "immutable" in versioned["Cache-Control"]
    # a tenant without a logo of its own or inherited
    assert host_client("oficina.localhost").get("/brand/logo").status_code == 404
    assert host_client("oficina.localhost").get("/brand/custom.css").content == b""


def effective_url(client, kind):
    body = client.get("/accounts/login/").content.decode()
    return re.search(rf'"(/brand/{kind}\?v=[0-9a-f]+)"', body).group(1)


def test_a_sanitized_svg_logo_is_served_as_svg_without_its_scripts(two_partners, commit, media):
    zap, *_ = two_partners
    with commit():
        brand_update(organization=zap, logo=SVG_ATTACK)
    response = host_client("zap.localhost").get("/brand/logo")
    assert response["Content-Type"] == "image/svg+xml"
    assert b"script" not in response.content and b"onload" not in response.content


def test_powered_by_disappears_with_a_white_label_partner(two_partners, commit, media):
    zap, nuvem, padaria, oficina = two_partners
    with commit():
        organization_update(organization=zap, name=zap.name, kind="partner", parent=None, plan="white-label")
    zap.refresh_from_db()
    _brand_zap(zap, commit, show_powered_by=False)
    body = host_client("padaria.localhost").get("/accounts/login/").content.decode()
    assert "Tecnologia Orbit" not in body and "Orbit" not in body
    assert "Tecnologia Orbit" in host_client("oficina.localhost").get("/accounts/login/").content.decode()


def test_app_pages_404_and_suspended_pages_are_branded(two_partners, commit, media):
    zap, nuvem, padaria, oficina = two_partners
    _brand_zap(zap, commit)
    client = logged_in("padaria.localhost", owner_email("padaria"))
    home = client.get("/").content.decode()
    assert "Zap Atende" in home and "--orbit-primary: #e4002b;" in home and "/brand/logo?v=" in home
    missing = client.get("/nao-existe/")
    assert missing.status_code == 404 and "Zap Atende" in missing.content.decode()
    with commit():
        organization_suspend(organization=padaria)
    suspended = host_client("padaria.localhost").get("/accounts/login/")
    assert suspended.status_code == 403
    assert "Zap Atende" in suspended.content.decode() and "/brand/logo?v=" in suspended.content.decode()
    # the suspended page's assets still load
    assert host_client("padaria.localhost").get("/brand/logo").status_code == 200


def test_unknown_host_gets_the_platform_brand(db):
    body = host_client("ninguem.localhost").get("/").content.decode()
    assert "Orbit" in body and "/brand/" not in body


def test_password_reset_email_goes_out_in_the_brand(two_partners, commit, media):
    zap, nuvem, padaria, oficina = two_partners
    _brand_zap(zap, commit)
    with commit():
        response = host_client("padaria.localhost").post("/accounts/password-reset/", {"email": owner_email("padaria")})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.from_email == '"Suporte Zap" <no-reply@orbit.localhost>' or message.from_email.startswith("Suporte Zap <")
    assert message.reply_to == ["ajuda@zap.example"]
    assert "Zap Atende" in message.subject and "Zap Atende" in message.body
    assert "http://padaria.localhost/accounts/reset/" in message.body
    assert "Orbit" not in message.body
