from tests.e2e.conftest import screenshot
from tests.factories import OWNER_PASSWORD, owner_email


def test_owner_logs_in_on_their_host_and_the_session_stays_there(page_factory, url, tenant, other_tenant):
    page = page_factory()
    page.goto(url("alpha.localhost", "/accounts/login/"))
    assert tenant.name in page.content()
    page.fill("#id_username", owner_email("alpha"))
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url("alpha.localhost", "/"))
    assert owner_email("alpha") in page.content()
    screenshot(page, "login-alpha-home")

    # the same browser on the other tenant's host is not logged in
    page.goto(url("beta.localhost", "/"))
    page.wait_for_url("**/accounts/login/**")
    assert other_tenant.name in page.content()
    screenshot(page, "login-beta-anonymous")


def test_wrong_password_shows_a_clear_error(page_factory, url, tenant):
    page = page_factory()
    page.goto(url("alpha.localhost", "/accounts/login/"))
    page.fill("#id_username", owner_email("alpha"))
    page.fill("#id_password", "errada")
    page.click("button[type=submit]")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert alert.inner_text().strip()
    screenshot(page, "login-error")


def test_unknown_host_and_english_locale(page_factory, url):
    page = page_factory(locale="en-US")
    response = page.goto(url("ghost.localhost", "/"))
    assert response.status == 404
    assert "ghost.localhost" in page.content()
