import re

from django.core import mail

from tests.conftest import host_client
from tests.factories import OWNER_PASSWORD, owner_email


def test_owner_logs_in_on_their_tenant_host(db, tenant, tenant_client):
    response = tenant_client.post(
        "/accounts/login/", {"username": owner_email("alpha"), "password": OWNER_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert tenant.name in body and owner_email("alpha") in body


def test_wrong_password_shows_an_error_and_no_session(db, tenant_client):
    response = tenant_client.post("/accounts/login/", {"username": owner_email("alpha"), "password": "nope"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert tenant_client.get("/").status_code == 302


def test_a_user_of_one_tenant_cannot_log_in_on_another(db, other_tenant_client):
    response = other_tenant_client.post(
        "/accounts/login/", {"username": owner_email("alpha"), "password": OWNER_PASSWORD}
    )
    assert response.status_code == 200  # the form again, with its error
    assert other_tenant_client.get("/").status_code == 302


def test_a_session_from_one_tenant_is_worthless_on_another(db, tenant_client):
    tenant_client.post("/accounts/login/", {"username": owner_email("alpha"), "password": OWNER_PASSWORD})
    assert tenant_client.get("/").status_code == 200
    cookie = tenant_client.cookies["sessionid"].value
    intruder = host_client("beta.localhost")
    intruder.cookies["sessionid"] = cookie
    response = intruder.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_anonymous_home_redirects_to_login(db, tenant_client):
    response = tenant_client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_logout(db, tenant_client):
    tenant_client.post("/accounts/login/", {"username": owner_email("alpha"), "password": OWNER_PASSWORD})
    tenant_client.post("/accounts/logout/")
    assert tenant_client.get("/").status_code == 302


def _reset_link(host: str, email: str) -> str:
    client = host_client(host)
    mail.outbox.clear()
    response = client.post("/accounts/password-reset/", {"email": email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    return re.search(r"https?://[^\s]+/accounts/reset/[^\s]+/", mail.outbox[0].body).group(0)


def test_password_reset_by_email_on_the_tenant_host(db, tenant):
    link = _reset_link("alpha.localhost", owner_email("alpha"))
    assert link.startswith("http://alpha.localhost/accounts/reset/")
    client = host_client("alpha.localhost")
    path = link.split("alpha.localhost", 1)[1]
    form = client.get(path, follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "outra-senha-456", "new_password2": "outra-senha-456"})
    assert done.status_code == 302
    fresh = host_client("alpha.localhost")
    fresh.post("/accounts/login/", {"username": owner_email("alpha"), "password": "outra-senha-456"})
    assert fresh.get("/").status_code == 200


def test_unknown_email_sends_nothing_but_says_the_same(db, tenant):
    mail.outbox.clear()
    response = host_client("alpha.localhost").post("/accounts/password-reset/", {"email": "ghost@nowhere.test"})
    assert response.status_code == 302 and mail.outbox == []


def test_a_reset_link_from_one_tenant_is_invalid_on_another(db, tenant, other_tenant):
    link = _reset_link("alpha.localhost", owner_email("alpha"))
    path = link.split("alpha.localhost", 1)[1]
    # beta's owner has the same primary key; the token is bound to alpha's schema
    response = host_client("beta.localhost").get(path, follow=True)
    assert "new_password1" not in response.content.decode()
