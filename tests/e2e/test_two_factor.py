"""Two-factor authentication in headless Chromium, at 1280 px and on a 390×844 phone, in
Portuguese and English: the owner turns it on from the security page (QR code drawn by the
server as inline SVG, the key readable beside it), keeps the recovery codes, logs out, and
logs back in with a code from the "app" (RFC 6238, computed from the key the page showed).
Screenshots go to tests/artifacts/2fa-*.png."""

from __future__ import annotations

import base64
import time

import pytest
from django_otp.oath import TOTP

from tests.e2e.conftest import screenshot
from tests.e2e.test_agents_and_visitors import device, fits, login  # noqa: F401
from tests.factories import OWNER_PASSWORD, owner_email

WORDS = {
    "pt-BR": {"security": "Segurança", "enable": "Ativar a verificação em duas etapas", "turn_on": "Ativar",
              "saved": "Guardei os códigos, continuar", "on": "ativa", "logout": "Sair", "verify": "Verificar",
              "title": "Verificação em duas etapas", "wrong": "Código incorreto"},
    "en": {"security": "Security", "enable": "Turn on two-factor authentication", "turn_on": "Turn on",
           "saved": "I've saved the codes, continue", "on": "on", "logout": "Log out", "verify": "Verify",
           "title": "Two-factor authentication", "wrong": "Wrong code"},
}


def app_code(secret: str, *, step_offset: int = 0) -> str:
    """What an authenticator app shows for the key the page displayed."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, 30, 0, 6, 0)
    totp.time = time.time() + step_offset * 30
    return f"{totp.token():06d}"


def assert_fits(page, what: str) -> None:
    width, screen = fits(page)
    assert width <= screen, f"{what} is {width} px wide in a {screen} px window"


@pytest.mark.parametrize("locale", ["pt-BR", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_owner_turns_on_two_factor_and_logs_in_with_a_code(device, url, tenant, size, locale):  # noqa: F811
    words = WORDS[locale]
    tag = f"{size}-{locale}"
    page = device(size, locale)
    login(page, url, owner_email(tenant.slug))

    page.goto(url("alpha.localhost", "/accounts/security/"))
    page.wait_for_selector(f"h1 >> text={words['security']}")
    page.click("#enable-2fa")
    page.wait_for_selector(".qr svg")
    qr = page.locator(".qr svg").bounding_box()
    assert qr["width"] >= 150 and qr["height"] >= 150  # big enough for a phone camera
    secret = page.inner_text("#totp-secret").strip()
    assert len(secret) == 32
    screenshot(page, f"2fa-enrol-{tag}")
    assert_fits(page, "the enrolment page")

    page.fill("#id_code", "000000" if app_code(secret) != "000000" else "111111")
    page.click(f"button >> text={words['turn_on']}")
    page.wait_for_selector(f"#code-error >> text={words['wrong']}")
    time.sleep(1.1)  # django-otp's throttling after a wrong code
    page.fill("#id_code", app_code(secret))
    page.click(f"button >> text={words['turn_on']}")
    page.wait_for_selector("#recovery-codes")
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, f"2fa-recovery-codes-{tag}")
    assert_fits(page, "the recovery codes")
    page.click(f"text={words['saved']}")
    page.wait_for_selector(f".security-status.on >> text={words['on']}")
    screenshot(page, f"2fa-security-{tag}")
    assert_fits(page, "the security page")

    # out, and back in: the password, then a code
    page.locator("form[action='/accounts/logout/'] button").click()
    page.wait_for_url("**/accounts/login/**")
    page.fill("#id_username", owner_email(tenant.slug))
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url("alpha.localhost", "/accounts/login/verify/"))
    page.wait_for_selector(f"h1 >> text={words['title']}")
    screenshot(page, f"2fa-login-code-{tag}")
    assert_fits(page, "the code step")
    page.fill("#id_code", app_code(secret, step_offset=1))
    page.click(f"button >> text={words['verify']}")
    page.wait_for_url(url("alpha.localhost", "/"))
    assert owner_email(tenant.slug) in page.content()


def test_an_operator_enrols_on_first_login_to_the_admin(device, url, settings):  # noqa: F811
    from django.contrib.auth import get_user_model
    from django.db import connection

    settings.ORBIT_2FA_OPERATORS = True
    connection.set_schema_to_public()
    get_user_model().objects.create_superuser("op@orbit.localhost", OWNER_PASSWORD)
    page = device("desktop", "pt-BR")
    page.goto(url("localhost", "/admin/login/"))
    page.fill("#id_username", "op@orbit.localhost")
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(url("localhost", "/admin/login/setup/"))
    page.wait_for_selector(".qr svg")
    screenshot(page, "2fa-operator-enrol-desktop-pt-BR")
    page.fill("#id_code", app_code(page.inner_text("#totp-secret").strip()))
    page.click("button[type=submit]")
    page.wait_for_selector("#recovery-codes")
    page.click("a.button")
    page.wait_for_url(url("localhost", "/admin/"))
    assert page.locator("#site-name, #header").count() >= 1


AUDIT_WORDS = {"pt-BR": ("Auditoria", "Entrada na conta", "Filtrar", "Exportar CSV"),
               "en": ("Audit log", "Login", "Filter", "Export CSV")}


@pytest.mark.parametrize("locale", ["pt-BR", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_owner_reads_filters_and_exports_the_audit_log(device, url, tenant, size, locale):  # noqa: F811
    title, login_label, filter_label, export_label = AUDIT_WORDS[locale]
    page = device(size, locale)
    login(page, url, owner_email(tenant.slug))
    page.goto(url("alpha.localhost", "/settings/audit/"))
    page.wait_for_selector(f"h1 >> text={title}")
    assert login_label in page.inner_text("table.audit")
    assert "login.success" not in page.inner_text("table.audit")
    page.select_option("#f-group", "access")
    page.click(f"button >> text={filter_label}")
    page.wait_for_url("**group=access**")
    screenshot(page, f"audit-{size}-{locale}")
    assert_fits(page, "the audit page")
    with page.expect_download() as download:
        page.click(f"text={export_label}")
    body = open(download.value.path(), encoding="utf-8-sig").read()
    assert "login.success" in body and "127.0.0.1" in body
