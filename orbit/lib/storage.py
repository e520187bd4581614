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


# --- issue 15: the one place stored names are built, and what works on any storage ------

AREAS = ("uploads", "backups", "exports")


def tenant_path(schema: str, area: str, *parts: str) -> str:
    """`tenants/<schema>/<area>/<part>/…`: uploads, backups or exports of one tenant."""
    if area not in AREAS:
        raise ValueError(f"unknown storage area {area!r}")
    for part in parts:
        if not part or part.startswith("/") or ".." in part.split("/"):
            raise ValueError(f"not a relative name: {part!r}")
    return "/".join([tenant_prefix(schema) + area, *parts])


def whitelabel_prefix(schema: str) -> str:
    """`whitelabel/<schema>/`: the tenant's public brand assets (branding.storage names them)."""
    if not _SCHEMA.match(schema or ""):
        raise ValueError(f"not a schema name: {schema!r}")
    return f"whitelabel/{schema}/"


def schema_of(name: str) -> str | None:
    """The schema a stored name belongs to (tenants/<schema>/… or whitelabel/<schema>/…)."""
    parts = (name or "").split("/")
    if len(parts) >= 3 and parts[0] in ("tenants", "whitelabel") and _SCHEMA.match(parts[1]):
        return parts[1]
    return None


def rename_prefix(name: str, *, old_schema: str, new_schema: str) -> str:
    """The same stored name under another tenant's prefix (restore into a new schema)."""
    for old, new in ((tenant_prefix(old_schema), tenant_prefix(new_schema)),
                     (whitelabel_prefix(old_schema), whitelabel_prefix(new_schema))):
        if name.startswith(old):
            return new + name[len(old):]
    raise ValueError(f"{name!r} is not stored under {old_schema!r}")


def is_object_storage(storage: Storage | None = None) -> bool:
    """True for S3 (no local paths), False for the filesystem."""
    storage = storage or default_storage
    try:
        storage.path("x")
    except NotImplementedError:
        return True
    return False


def _s3_client(storage: Storage):
    return storage.connection.meta.client


def _s3_key(storage: Storage, name: str) -> str:
    from storages.utils import clean_name

    return storage._normalize_name(clean_name(name))


def walk(prefix: str, *, storage: Storage | None = None):
    """Every file under `prefix` as (name, size, etag or None), in name order. S3 lists a
    thousand objects a request; the filesystem walks its folders."""
    storage = storage or default_storage
    if is_object_storage(storage):
        found = []
        paginator = _s3_client(storage).get_paginator("list_objects_v2")
        key_prefix = _s3_key(storage, prefix)
        location = storage.location.rstrip("/") + "/" if storage.location else ""
        for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=key_prefix):
            for item in page.get("Contents", []):
                found.append((item["Key"][len(location):], item["Size"], item["ETag"].strip('"')))
        return sorted(found)
    root = storage.path(prefix)
    found = []
    for folder, _dirs, files in os.walk(root):
        for filename in files:
            full = os.path.join(folder, filename)
            name = os.path.relpath(full, storage.path("")).replace(os.sep, "/")
            found.append((name, os.path.getsize(full), None))
    return sorted(found)


def checksum(name: str, *, storage: Storage | None = None, etag: str | None = None) -> str:
    """`sha256:<hex>` of a stored file's bytes; on S3 an object's ETag, when it is the MD5
    of the bytes (single-part uploads), stands for it as `md5:<hex>` without a download."""
    import hashlib

    if etag and "-" not in etag and len(etag) == 32:
        return f"md5:{etag}"
    storage = storage or default_storage
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def verify_checksum(name: str, expected: str, *, storage: Storage | None = None) -> bool:
    """Whether the stored file's bytes have the checksum `expected` (sha256: or md5:)."""
    import hashlib

    storage = storage or default_storage
    algorithm, _, value = expected.partition(":")
    digest = hashlib.new("md5" if algorithm == "md5" else "sha256")
    try:
        with storage.open(name, "rb") as handle:
            for block in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(block)
    except (FileNotFoundError, OSError):
        return False
    return digest.hexdigest() == value


def copy(source: str, target: str, *, storage: Storage | None = None) -> str:
    """Copy a stored file to another name in the same storage (S3: a server-side copy)."""
    import shutil

    storage = storage or default_storage
    if is_object_storage(storage):
        _s3_client(storage).copy_object(
            Bucket=storage.bucket_name,
            Key=_s3_key(storage, target),
            CopySource={"Bucket": storage.bucket_name, "Key": _s3_key(storage, source)},
            ACL="private",
            MetadataDirective="COPY",
        )
        return target
    destination = storage.path(target)
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    shutil.copyfile(storage.path(source), destination)
    return target


def signed_url(name: str, *, seconds: int | None = None, filename: str = "", inline: bool = False,
               storage: Storage | None = None) -> str | None:
    """A short-lived URL straight to the object on S3 (presigned GET), or None on the
    filesystem, where the caller's own auth-checked view serves the bytes. Hand it out
    only after checking who asks: anyone holding it can read the object until it expires."""
    from django.conf import settings

    storage = storage or default_storage
    if not is_object_storage(storage):
        return None
    seconds = seconds or int(getattr(settings, "ORBIT_S3_SIGNED_URL_SECONDS", 300))
    parameters = {}
    if filename or not inline:
        safe = (filename or name.rsplit("/", 1)[-1]).replace('"', "").replace("\\", "")
        parameters["ResponseContentDisposition"] = f'{"inline" if inline else "attachment"}; filename="{safe}"'
    return storage.url(name, parameters=parameters or None, expire=seconds)


# Columns of tenant tables that hold stored names (with the schema in them): an app that
# stores file names registers them here (its AppConfig.ready), so a restore into a new
# schema can move the names with the files without importing that app.
STORED_NAME_COLUMNS: set[tuple[str, str]] = set()


def register_stored_name_column(table: str, column: str) -> None:
    STORED_NAME_COLUMNS.add((table, column))


def s3_storage(bucket: str, *, prefix: str = "") -> Storage:
    """An S3Storage for another bucket on the configured S3 endpoint and credentials
    (ORBIT_S3_*): exports to s3:// URLs, `storage migrate-to-s3`."""
    from django.conf import settings
    from storages.backends.s3 import S3Storage

    return S3Storage(
        bucket_name=bucket, location=prefix.strip("/"), endpoint_url=settings.ORBIT_S3_ENDPOINT_URL,
        region_name=settings.ORBIT_S3_REGION, access_key=settings.ORBIT_S3_ACCESS_KEY_ID,
        secret_key=settings.ORBIT_S3_SECRET_ACCESS_KEY, addressing_style=settings.ORBIT_S3_ADDRESSING_STYLE,
        signature_version="s3v4", default_acl="private", querystring_auth=True,
        querystring_expire=settings.ORBIT_S3_SIGNED_URL_SECONDS, file_overwrite=True,
    )
