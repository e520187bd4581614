"""One error base (orbit.lib.errors.OrbitError), mapped once: API envelope, websocket error
frame, CLI exit status; an OrbitError escaping an /api/ view is the envelope, not a 500."""

from __future__ import annotations

import json

from django.core.management.base import CommandError
from django.http import HttpResponse
from django.test import RequestFactory

from billing.limits import LimitExceeded
from chat.selectors import NotFound
from chat.services import ConversationError, LimitReached, MessageError, UploadError
from orbit.lib.errors import OrbitError, OrbitErrorMiddleware, api_response, command_error, ws_error_frame
from tenants.provisioning import ProvisioningError
from tenants.services import DomainRefused


def test_app_errors_share_the_base_and_keep_their_codes():
    for exc, code in [(MessageError("too_long", "x"), "too_long"), (ConversationError("bad_status", "x"), "bad_status"),
                      (UploadError("too_large", "x", 413), "too_large"), (LimitReached("cheio"), "limit_reached"),
                      (NotFound("conversation"), "not_found"), (ProvisioningError("x"), "provisioning_refused"),
                      (DomainRefused("x"), "domain_refused")]:
        assert isinstance(exc, OrbitError) and exc.code == code
    assert isinstance(MessageError("x", "y"), ValueError)  # callers that caught ValueError still do
    assert issubclass(LimitExceeded, OrbitError)


def test_one_mapping_per_boundary():
    exc = UploadError("too_large", "Grande demais.", 413)
    response = api_response(exc)
    assert response.status_code == 413
    assert json.loads(response.content) == {"error": {"code": "too_large", "message": "Grande demais."}}
    assert ws_error_frame(NotFound("conversation"), ref="c1") == {
        "type": "error", "code": "not_found", "message": "Conversation not found.", "ref": "c1"}
    cli = command_error(ProvisioningError("the slug 'admin' is reserved"))
    assert isinstance(cli, CommandError) and cli.returncode == 1 and "reserved" in str(cli)


def test_an_escaping_orbit_error_under_api_is_the_envelope():
    middleware = OrbitErrorMiddleware(lambda request: HttpResponse("ok"))
    api = middleware.process_exception(RequestFactory().get("/api/v1/x"), MessageError("empty", "The message is empty."))
    assert api.status_code == 400 and json.loads(api.content)["error"]["code"] == "empty"
    assert middleware.process_exception(RequestFactory().get("/inbox/"), MessageError("empty", "x")) is None
    assert middleware.process_exception(RequestFactory().get("/api/v1/x"), ValueError("x")) is None
