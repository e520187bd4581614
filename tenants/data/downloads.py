"""Links to a tenant's own stored files (its data exports): signed with a salt naming the
schema, short-lived, and honoured only on that tenant's host for its owners and admins.
On S3 the view then redirects to a presigned URL of a minute; on the filesystem it
streams the file itself."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.db import connection
from django.urls import reverse

from orbit.lib import storage as stored


def _salt(schema: str) -> str:
    return f"tenants.data.download:{schema}"


def max_age() -> int:
    return int(getattr(settings, "ORBIT_S3_SIGNED_URL_SECONDS", 300))


def download_url(name: str) -> str:
    schema = connection.schema_name
    if not name.startswith(stored.tenant_prefix(schema)):
        raise ValueError(f"{name!r} is not this tenant's file")
    return reverse("tenant_data:download", kwargs={"token": signing.dumps(name, salt=_salt(schema), compress=True)})


def name_from_token(token: str) -> str | None:
    """The stored name a token stands for, if it was signed for this tenant, has not
    expired and still names a file under this tenant's exports."""
    schema = connection.schema_name
    try:
        name = signing.loads(token, salt=_salt(schema), max_age=max_age())
    except signing.BadSignature:
        return None
    if not isinstance(name, str) or not name.startswith(stored.tenant_path(schema, "exports") + "/"):
        return None
    return name
