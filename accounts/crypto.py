"""Secrets at rest: values encrypted with a key from the environment (Fernet: AES-128-CBC
+ HMAC-SHA256, from `cryptography`).

A stored value reads `enc1:<key id>:<Fernet token>`. The key id (8 hex digits of the key's
SHA-256) says which key wrote it, so `manage.py secrets rotate` rewrites exactly the rows
that an older key wrote, and a row is readable while rotation runs: every key in
ORBIT_SECRETS_OLD_KEYS still decrypts. A value without the prefix is a plaintext written
before encryption existed (the data migrations and `secrets rotate` encrypt those).

Keys: ORBIT_SECRETS_KEY (a Fernet key: 32 random bytes, URL-safe base64;
`python manage.py secrets generate-key` prints one). Without it, development and tests use a
key derived from SECRET_KEY by HKDF-SHA256 with the label below; settings refuse to start
without ORBIT_SECRETS_KEY when ORBIT_PRODUCTION=1."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc1:"
DEV_KEY_LABEL = b"orbit secrets-at-rest development key (never for production)"


class SecretUndecryptable(Exception):
    """No configured key opens this value (a key was dropped before rotation finished)."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def development_key(secret_key: str) -> str:
    """The development/test key: HKDF-SHA256 of SECRET_KEY under DEV_KEY_LABEL."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DEV_KEY_LABEL).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw).decode()


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@functools.lru_cache(maxsize=8)
def _keyring(current: str, old: tuple[str, ...]) -> tuple[tuple[str, Fernet], ...]:
    ring = []
    for key in (current, *old):
        try:
            ring.append((key_id(key), Fernet(key.encode())))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                "ORBIT_SECRETS_KEY / ORBIT_SECRETS_OLD_KEYS: each key must be 32 bytes, URL-safe base64 "
                "(python manage.py secrets generate-key)"
            ) from None
    return tuple(ring)


def current_key() -> str:
    key = getattr(settings, "ORBIT_SECRETS_KEY", "") or ""
    if key:
        return key
    if getattr(settings, "ORBIT_SECRETS_KEY_REQUIRED", False):
        raise ImproperlyConfigured("ORBIT_SECRETS_KEY must be set when ORBIT_PRODUCTION=1")
    return development_key(settings.SECRET_KEY)


def keyring() -> tuple[tuple[str, Fernet], ...]:
    """(key id, Fernet) pairs: the current key first, then the old ones (decrypt only)."""
    return _keyring(current_key(), tuple(getattr(settings, "ORBIT_SECRETS_OLD_KEYS", ()) or ()))


def current_key_id() -> str:
    return keyring()[0][0]


def is_encrypted(stored: str | None) -> bool:
    return isinstance(stored, str) and stored.startswith(PREFIX)


def encrypt(plain: str) -> str:
    kid, fernet = keyring()[0]
    return f"{PREFIX}{kid}:{fernet.encrypt(plain.encode()).decode()}"


def decrypt(stored: str) -> str:
    if not is_encrypted(stored):
        return stored  # written before encryption: readable until migrated
    try:
        kid, token = stored[len(PREFIX):].split(":", 1)
    except ValueError:
        raise SecretUndecryptable("malformed encrypted value") from None
    ring = keyring()
    # The key that wrote it first; then the others (a key id can collide, a token cannot lie).
    for _kid, fernet in sorted(ring, key=lambda pair: pair[0] != kid):
        try:
            return fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            continue
    raise SecretUndecryptable(f"no configured key opens a value written with key {kid}")


def needs_rotation(stored: str | None) -> bool:
    """A plaintext, or a value written with a key other than the current one."""
    if stored is None or stored == "":
        return False
    if not is_encrypted(stored):
        return True
    return not stored.startswith(f"{PREFIX}{current_key_id()}:")


def stored_key_id(stored: str | None) -> str:
    """The key id a stored value was written with ("plain" for a plaintext, "" for empty)."""
    if not stored:
        return ""
    if not is_encrypted(stored):
        return "plain"
    return stored[len(PREFIX):].split(":", 1)[0]
