"""Helpers for 2FA tests: codes computed the way an authenticator app does (RFC 6238)."""

from __future__ import annotations

import re
import time
from binascii import unhexlify

from django.db import connection
from django_otp.oath import TOTP
from django_tenants.utils import schema_context

from accounts.models import TotpDevice


def totp_code(key_hex: str, *, step_offset: int = 0) -> str:
    totp = TOTP(unhexlify(key_hex.encode()), TotpDevice.STEP, 0, TotpDevice.DIGITS, 0)
    totp.time = time.time() + step_offset * TotpDevice.STEP
    return f"{totp.token():06d}"


def device_code(user, *, step_offset: int = 0, confirmed: bool | None = None) -> str:
    """The current code of the person's device (in the schema user.schema, if set)."""
    with schema_context(getattr(user, "schema", None) or connection.schema_name):
        qs = TotpDevice.objects.filter(user_id=user.pk)
        if confirmed is not None:
            qs = qs.filter(confirmed=confirmed)
        return totp_code(qs.order_by("-pk").first().key, step_offset=step_offset)


def person(tenant, email: str):
    """A person of `tenant`, who knows their schema (for device_code)."""
    from django.contrib.auth import get_user_model

    with schema_context(tenant.schema_name):
        user = get_user_model().objects.get(email=email)
    user.schema = tenant.schema_name
    return user


def recovery_codes_in(html: str) -> list[str]:
    return re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", html)


def enrol(client, user) -> list[str]:
    """Turn 2FA on through the security page (client logged in as user); the recovery codes."""
    page = client.get("/accounts/security/2fa/setup/")
    assert page.status_code == 200
    response = client.post("/accounts/security/2fa/setup/", {"code": device_code(user, confirmed=False)})
    assert response.status_code == 200, response.content.decode()[:500]
    codes = recovery_codes_in(response.content.decode())
    assert len(codes) == 10
    return codes
