"""The client address of the per-IP limits (billing.ratelimit.client_ip_from): the
connection's address unless ORBIT_TRUSTED_PROXY_IP_HEADER names the proxy's header; a
header a client forges never chooses its key."""

from __future__ import annotations

import pytest

from billing.ratelimit import client_ip_from, scope_client_ip
from tests.conftest import host_client


def attempts(client, n: int, extra) -> list[int]:
    return [client.post("/accounts/login/", {"username": f"u{i}@x.example", "password": "x"}, **extra(i)).status_code
            for i in range(n)]


@pytest.fixture
def login_ip_rate(settings):
    settings.BILLING_LOGIN_IP_RATE = "3/5m"
    settings.BILLING_LOGIN_ACCOUNT_RATE = "100/5m"


def tenant_host(tenant) -> str:
    return tenant.domains.get(is_primary=True).domain


def test_unset_the_connection_address_counts_and_forged_headers_are_ignored(db, tenant, login_ip_rate, settings):
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = None
    client = host_client(tenant_host(tenant))
    codes = attempts(client, 5, extra=lambda i: {"REMOTE_ADDR": "198.51.100.1", "HTTP_X_FORWARDED_FOR": f"203.0.113.{i}",
                                                 "HTTP_X_REAL_IP": f"192.0.2.{i}"})
    assert codes == [200, 200, 200, 429, 429]
    # another connection address is another key
    assert attempts(client, 1, extra=lambda i: {"REMOTE_ADDR": "198.51.100.2"}) == [200]


def test_x_forwarded_for_takes_the_right_most_untrusted_address(db, tenant, login_ip_rate, settings):
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = "X-Forwarded-For"
    client = host_client(tenant_host(tenant))
    # nginx (10.0.0.2) appends the address it saw; a client forges the left part at will
    codes = attempts(client, 4, extra=lambda i: {"REMOTE_ADDR": "10.0.0.2",
                                                 "HTTP_X_FORWARDED_FOR": f"1.1.1.{i}, 203.0.113.7"})
    assert codes == [200, 200, 200, 429]
    # other clients behind the same proxy have their own keys
    assert attempts(client, 1, extra=lambda i: {"REMOTE_ADDR": "10.0.0.2",
                                                "HTTP_X_FORWARDED_FOR": "203.0.113.8"}) == [200]


def test_x_real_ip(db, tenant, login_ip_rate, settings):
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = "X-Real-IP"
    client = host_client(tenant_host(tenant))
    codes = attempts(client, 4, extra=lambda i: {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "203.0.113.9",
                                                 "HTTP_X_FORWARDED_FOR": f"1.1.1.{i}"})
    assert codes == [200, 200, 200, 429]
    assert attempts(client, 1, extra=lambda i: {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "203.0.113.10"}) == [200]


def test_the_widget_limit_per_visitor_behind_the_proxy(db, tenant, settings):
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = "X-Real-IP"
    settings.BILLING_WIDGET_BURST = "1/10s"
    client = host_client(tenant_host(tenant))
    assert client.get("/widget/x/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="203.0.113.1").status_code != 429
    assert client.get("/widget/x/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="203.0.113.1").status_code == 429
    assert client.get("/widget/x/", REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="203.0.113.2").status_code != 429


@pytest.mark.parametrize(
    ("header", "trusted", "value", "expected"),
    [
        ("X-Forwarded-For", [], "203.0.113.7", "203.0.113.7"),
        ("X-Forwarded-For", [], "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("X-Forwarded-For", ["10.0.0.0/8"], "6.6.6.6, 203.0.113.7, 10.1.2.3", "203.0.113.7"),
        ("X-Forwarded-For", ["10.0.0.0/8", "192.0.2.5"], "10.9.9.9, 192.0.2.5", "10.9.9.9"),  # all proxies
        ("X-Forwarded-For", [], "[2001:db8::1]:443", "2001:db8::1"),
        ("X-Forwarded-For", [], "203.0.113.7:5678", "203.0.113.7"),
        ("x-forwarded-for", [], "2001:DB8::A", "2001:db8::a"),
        ("X-Forwarded-For", [], "not-an-ip", "10.0.0.2"),  # bad input: the connection's address
        ("X-Forwarded-For", [], "203.0.113.7, garbage", "10.0.0.2"),
        ("X-Forwarded-For", [], " , ", "10.0.0.2"),
        ("X-Forwarded-For", [], None, "10.0.0.2"),
        ("X-Real-IP", [], "203.0.113.9", "203.0.113.9"),
        ("X-Real-IP", [], "<script>", "10.0.0.2"),
        ("X-Real-IP", [], "", "10.0.0.2"),
        (None, [], "203.0.113.9", "10.0.0.2"),  # unset: whatever the header says is ignored
    ],
)
def test_client_ip_from(settings, header, trusted, value, expected):
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = header
    settings.ORBIT_TRUSTED_PROXIES = trusted
    assert client_ip_from(remote_addr="10.0.0.2", header_value=value) == expected


def test_no_remote_address_at_all(settings):
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = None
    assert client_ip_from(remote_addr=None, header_value=None) == "-"


def test_the_asgi_scope_reads_the_same_way(settings):
    scope = {"client": ("10.0.0.2", 5000),
             "headers": [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"203.0.113.7"), (b"host", b"a")]}
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = None
    assert scope_client_ip(scope) == "10.0.0.2"
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER = "X-Forwarded-For"
    assert scope_client_ip(scope) == "203.0.113.7"
    assert scope_client_ip({"client": None, "headers": []}) == "-"
