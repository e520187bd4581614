"""One tenant's data as a whole: backups, restores, exports and imports (issue 15).

A backup is the tenant's schema (`pg_dump -n`, custom format, by client tools that match
the server), a manifest of its stored files (name, size, checksum), its public-schema rows
(organization, domains, brand, subscription, usage) and a fingerprint of what it held
(row count and checksum per table, catalogue, migrations) taken in the same snapshot as
the dump. It is encrypted (AES-256-GCM, key from the environment) and stored under
`tenants/<schema>/backups/<kind>/` beside a small JSON index entry with its SHA-256.

An export is the same archive with the files' bytes inside: it moves a tenant to
another installation (`tenant export` / `tenant import`).

This package works on schemas and files, never on another app's models: tables that
hold stored names are known through orbit.lib.storage's registry."""

from tenants.data.errors import DataError  # noqa: F401
