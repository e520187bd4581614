"""Where brand assets are stored: the one place their names are built.

`whitelabel/<schema>/<kind>/<digest>.<ext>` (DESIGN.md, Files). The schema is part of
the stored name; the digest makes a new upload a new file, so a failed save never
changes the file the current brand points at, and URLs can be cached for long."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

ASSET_KINDS = ("logo", "favicon")


def asset_name(*, schema_name: str, kind: str, data: bytes, extension: str) -> str:
    if kind not in ASSET_KINDS:
        raise ValueError(f"unknown brand asset kind {kind!r}")
    digest = hashlib.sha256(data).hexdigest()[:20]
    return f"whitelabel/{schema_name}/{kind}/{digest}.{extension}"


def asset_version(name: str) -> str:
    """The digest part of a stored name, for cache-busting URLs."""
    return name.rsplit("/", 1)[-1].split(".", 1)[0] if name else ""


def asset_save(*, name: str, data: bytes) -> str:
    if default_storage.exists(name):  # same bytes, same name
        return name
    return default_storage.save(name, ContentFile(data))


def asset_read(name: str) -> bytes | None:
    try:
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def asset_delete(name: str) -> None:
    if name:
        default_storage.delete(name)
