"""Per-tenant stored files (DESIGN.md, Files): every name a tenant's data is stored under
starts with `tenants/<schema>/` in the default storage (uploads, backups, exports), so
removing a tenant's files is removing that prefix."""

from __future__ import annotations

import os
import re

from django.core.files.storage import Storage, default_storage

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]*$")


def tenant_prefix(schema: str) -> str:
    """`tenants/<schema>/`: the folder every stored file of the tenant lives under."""
    if not _SCHEMA.match(schema or ""):
        raise ValueError(f"not a schema name: {schema!r}")
    return f"tenants/{schema}/"


def delete_prefix(prefix: str, *, storage: Storage | None = None) -> int:
    """Delete every file stored under `prefix` (a folder name ending in "/"), folders
    included where the storage has them (the filesystem); returns how many files went.
    Works on any Django storage that lists folders (FileSystemStorage, S3)."""
    if not prefix or not prefix.endswith("/") or prefix.startswith("/") or ".." in prefix.split("/"):
        raise ValueError(f"refusing to delete under {prefix!r}")
    storage = storage or default_storage
    try:
        folders, files = storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    deleted = 0
    for name in files:
        storage.delete(prefix + name)
        deleted += 1
    for folder in folders:
        deleted += delete_prefix(f"{prefix}{folder}/", storage=storage)
    _remove_empty_folder(storage, prefix)
    return deleted


def _remove_empty_folder(storage: Storage, prefix: str) -> None:
    try:
        path = storage.path(prefix)
    except NotImplementedError:  # object storage: no folders to remove
        return
    try:
        os.rmdir(path)
    except OSError:  # gone already, or something was written meanwhile
        pass
