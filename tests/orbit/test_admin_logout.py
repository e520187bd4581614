"""The operator's logout on the platform host (issue 12, item 9): LOGOUT_REDIRECT_URL names the
tenants' login page, which the platform's urlconf does not have."""

from __future__ import annotations

from tests.tenants.test_admin import operator  # noqa: F401 (fixture)


def test_post_logs_out_and_redirects_to_the_admin_login(operator):  # noqa: F811
    assert operator.get("/admin/").status_code == 200

    response = operator.post("/admin/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/"
    assert "_auth_user_id" not in operator.session
    after = operator.get("/admin/")
    assert after.status_code == 302 and after["Location"].startswith("/admin/login/")


def test_get_is_refused_cleanly_and_keeps_the_session(operator):  # noqa: F811
    response = operator.get("/admin/logout/")

    assert response.status_code == 405
    assert operator.get("/admin/").status_code == 200  # still logged in


def test_the_admin_logout_button_posts_to_the_working_route(operator):  # noqa: F811
    page = operator.get("/admin/").content.decode()

    assert 'action="/admin/logout/"' in page
