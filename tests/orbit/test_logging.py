"""JSON log lines carry the tenant they were written for, and no secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound
from django.test import override_settings
from django.urls import path

from orbit.lib.logging import JsonFormatter, TenantFilter
from orbit.urls_tenants import urlpatterns as tenant_urlpatterns
from tests.conftest import host_client
from tests.factories import OWNER_PASSWORD, owner_email

log = logging.getLogger("orbit.tests.logging")


def _logging_view(request):
    log.info("inside a request", extra={"api_token": "tok-123"})
    return HttpResponse("ok")


def _not_found_view(request):
    return HttpResponseNotFound("nope")


# The tenant hosts' urlconf while these tests run: the real one plus two probes.
urlpatterns = [
    path("_log/", _logging_view),
    path("_missing/", _not_found_view),
    *tenant_urlpatterns,
]


@pytest.fixture
def json_lines():
    """A handler built exactly as settings.LOGGING builds the console one, on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TenantFilter())
    handler.setFormatter(JsonFormatter(settings.LOGGING["formatters"]["json"]["fmt"]))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    request_logger = logging.getLogger("django.request")
    old_request_level = request_logger.level
    request_logger.setLevel(logging.WARNING)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)
    request_logger.setLevel(old_request_level)


def test_settings_wire_the_tenant_filter_and_json_formatter():
    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["tenant"] and console["formatter"] == "json"
    assert settings.LOGGING["filters"]["tenant"]["()"] == "orbit.lib.logging.TenantFilter"
    assert "%(tenant)s" in settings.LOGGING["formatters"]["json"]["fmt"]
    configured = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h.formatter, JsonFormatter) and any(isinstance(f, TenantFilter) for f in h.filters)
    ]
    assert configured, "the root logger has no JSON handler with the tenant filter"


@override_settings(ROOT_URLCONF=__name__)
def test_a_line_written_in_a_request_carries_that_tenants_schema(db, tenant, other_tenant, json_lines):
    assert host_client(tenant.domains.get(is_primary=True).domain).get("/_log/").status_code == 200
    assert host_client(other_tenant.domains.get(is_primary=True).domain).get("/_log/").status_code == 200
    lines = [line for line in json_lines() if line["message"] == "inside a request"]
    assert [line["tenant"] for line in lines] == [tenant.schema_name, other_tenant.schema_name]
    assert lines[0]["levelname"] == "INFO" and lines[0]["name"] == "orbit.tests.logging"
    assert lines[0]["api_token"] == "[redacted]"


@override_settings(ROOT_URLCONF=__name__)
def test_djangos_request_log_carries_the_tenant_even_after_the_middleware(db, tenant, json_lines):
    """django.request logs a returned 4xx after the middleware chain has unwound."""
    client = host_client(tenant.domains.get(is_primary=True).domain)
    assert client.get("/_missing/?token=s3cr3t").status_code == 404
    assert client.get("/no-such-page/?password=s3cr3t").status_code == 404  # raised Http404
    lines = [line for line in json_lines() if line["name"] == "django.request"]
    assert len(lines) == 2
    assert {line["tenant"] for line in lines} == {tenant.schema_name}
    assert {line["path"] for line in lines} == {"/_missing/", "/no-such-page/"}
    assert "s3cr3t" not in json.dumps(lines)


def test_platform_host_lines_say_public(db, json_lines):
    assert host_client("localhost").get("/admin/no-such-page/").status_code in (302, 404)
    log.info("after the request")
    assert json_lines()[-1]["tenant"] in ("-", "public")


def test_a_line_outside_any_request_says_dash_or_public(json_lines):
    log.warning("no request here")
    (line,) = [x for x in json_lines() if x["message"] == "no request here"]
    assert line["tenant"] in ("-", "public")


def test_a_failed_login_does_not_log_the_password(db, tenant, caplog, json_lines):
    secret = "Senha-Errada-987654"
    client = host_client(tenant.domains.get(is_primary=True).domain)
    with caplog.at_level(logging.DEBUG):
        response = client.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": secret})
        assert response.status_code == 200  # the form again
        platform = host_client("localhost").post("/admin/login/", {"username": "x@y.z", "password": secret})
        assert platform.status_code == 200
        # a correct one neither
        client.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": OWNER_PASSWORD})
    everything = caplog.text + "".join(json.dumps(line) for line in json_lines())
    assert secret not in everything
    assert OWNER_PASSWORD not in everything


def test_secrets_in_messages_and_fields_are_redacted(json_lines):
    log.warning("calling back with password=hunter2&user=x", extra={"password": "hunter2", "user_id": 7})
    (line,) = [x for x in json_lines() if x["message"].startswith("calling back")]
    assert "hunter2" not in json.dumps(line)
    assert line["message"] == "calling back with password=[redacted]&user=x"
    assert line["user_id"] == 7
