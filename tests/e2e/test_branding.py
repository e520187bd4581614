"""Two clients of two partners, each in its partner's brand: name, colours, logo, favicon.

Screenshots land in tests/artifacts/ (branding-*.png)."""

from __future__ import annotations

import struct
import zlib

import pytest

from branding.services import brand_update
from tests.e2e.conftest import screenshot
from tests.factories import OWNER_PASSWORD, make_organization, owner_email

pytestmark = pytest.mark.e2e


def solid_png(width: int, height: int, rgb: tuple[int, int, int], stripe: tuple[int, int, int]) -> bytes:
    """A real PNG (no imaging library needed): a block of colour with a stripe."""
    rows = b""
    for y in range(height):
        colour = stripe if height // 3 <= y < 2 * height // 3 else rgb
        rows += b"\x00" + bytes(colour) * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


ZAP_LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="48" viewBox="0 0 200 48" onload="alert(1)">'
    b'<rect width="200" height="48" rx="10" fill="#e4002b"/>'
    b'<text x="100" y="32" font-family="sans-serif" font-size="24" font-weight="700" fill="#ffffff" '
    b'text-anchor="middle">ZAP ATENDE</text><script>alert(2)</script></svg>'
)


@pytest.fixture
def branded_trees(live_db, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    zap = make_organization("zap", kind="partner", name="Zap Atende")
    nuvem = make_organization("nuvem", kind="partner", name="Nuvem Chat")
    padaria = make_organization("padaria", parent=zap, name="Padaria Central")
    oficina = make_organization("oficina", parent=nuvem, name="Oficina do Zé")
    brand_update(
        organization=zap, company_name="Zap Atende", primary_color="#e4002b", secondary_color="#1a1a1a",
        logo=ZAP_LOGO, favicon=solid_png(32, 32, (228, 0, 43), (255, 255, 255)),
        custom_css=".card { border-top: 6px solid #e4002b; }",
    )
    brand_update(
        organization=nuvem, company_name="Nuvem Chat", primary_color="#0a8f5a", secondary_color="#0b3d91",
        logo=solid_png(180, 48, (10, 143, 90), (11, 61, 145)), favicon=solid_png(32, 32, (10, 143, 90), (11, 61, 145)),
    )
    return zap, nuvem, padaria, oficina


FETCH = "async u => { const r = await fetch(u); return [r.ok, r.headers.get('content-type'), await r.text()]; }"


def _button_colour(page) -> str:
    return page.eval_on_selector("button[type=submit]", "b => getComputedStyle(b).backgroundColor")


def test_two_clients_of_two_partners_wear_their_partners_brands(page_factory, url, branded_trees):
    expected = {
        "padaria": ("Zap Atende", "rgb(228, 0, 43)", "image/svg+xml"),
        "oficina": ("Nuvem Chat", "rgb(10, 143, 90)", "image/png"),
    }
    for slug, (name, colour, logo_type) in expected.items():
        page = page_factory()
        page.goto(url(f"{slug}.localhost", "/accounts/login/"))
        assert page.title().endswith(name)
        assert _button_colour(page) == colour
        logo = page.locator("img.brand-logo")
        assert logo.get_attribute("alt") == name
        assert page.evaluate("() => document.querySelector('img.brand-logo').naturalWidth") > 0
        favicon = page.locator("link[rel=icon]").get_attribute("href")
        assert favicon.startswith("/brand/favicon?v=")
        ok, content_type, _body = page.evaluate(FETCH, favicon)  # the browser's own resolver knows *.localhost
        assert ok and content_type == "image/png"
        ok, content_type, body = page.evaluate(FETCH, logo.get_attribute("src"))
        assert ok and content_type == logo_type and "script" not in body
        other = "Nuvem Chat" if name == "Zap Atende" else "Zap Atende"
        assert other not in page.content()
        screenshot(page, f"branding-login-{slug}")

        # logged in, the app chrome keeps the brand
        page.fill("#id_username", owner_email(slug))
        page.fill("#id_password", OWNER_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(url(f"{slug}.localhost", "/"))
        assert page.title().endswith(name)
        border = page.eval_on_selector(".topbar", "e => getComputedStyle(e).borderTopColor")
        assert border == colour
        page.goto(url(f"{slug}.localhost", "/settings/brand/"))
        screenshot(page, f"branding-settings-{slug}")
    # the custom CSS of Zap reached its client, not Nuvem's
    page = page_factory()
    page.goto(url("padaria.localhost", "/accounts/login/"))
    assert page.eval_on_selector(".card", "e => getComputedStyle(e).borderTopWidth") == "6px"
    page.goto(url("oficina.localhost", "/accounts/login/"))
    assert page.eval_on_selector(".card", "e => getComputedStyle(e).borderTopWidth") == "0px"


def test_partner_console_lists_only_its_clients(page_factory, url, branded_trees):
    page = page_factory()
    page.goto(url("zap.localhost", "/accounts/login/"))
    page.fill("#id_username", owner_email("zap"))
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url("zap.localhost", "/"))
    page.goto(url("zap.localhost", "/clients/"))
    assert "Padaria Central" in page.content() and "Oficina do Zé" not in page.content()
    screenshot(page, "branding-partner-console")
    page.click("text=Padaria Central")
    page.wait_for_url(url("zap.localhost", "/clients/padaria/"))
    page.click("text=Entrar como suporte (30 min)")
    page.wait_for_url(url("padaria.localhost", "/"))
    assert "como suporte do parceiro" in page.content()
    screenshot(page, "branding-support-session")
