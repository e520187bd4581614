"""Encryption at rest for backups and exports: AES-256-GCM in 1 MiB chunks.

    header  = b"ORBK1" | key id (8 bytes: start of SHA-256 of the key) | nonce prefix (8 bytes)
    chunk   = length (4 bytes, big endian) | ciphertext + 16-byte tag

Chunk i is sealed with nonce = prefix | i (4 bytes) and the header, i and a "last" flag as
associated data, so a flipped bit, a reordered or dropped chunk and a cut-off tail are all
refused (the last chunk must say it is last). The key comes from ORBIT_BACKUP_KEY; older
keys in ORBIT_BACKUP_OLD_KEYS still decrypt."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from tenants.data.errors import DataError

MAGIC = b"ORBK1"
HEADER_SIZE = len(MAGIC) + 8 + 8
CHUNK = 1024 * 1024
TAG = 16


def _decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise DataError("ORBIT_BACKUP_KEY must be 32 random bytes in base64 (44 characters)")
    return key


def current_key() -> bytes:
    if settings.ORBIT_BACKUP_KEY:
        return _decode_key(settings.ORBIT_BACKUP_KEY)
    if getattr(settings, "ORBIT_PRODUCTION", False):
        raise DataError("ORBIT_BACKUP_KEY is not set: backups and exports are encrypted with it")
    return hashlib.sha256(b"orbit-backup-key:" + settings.SECRET_KEY.encode()).digest()


def known_keys() -> list[bytes]:
    keys = [current_key()]
    keys += [_decode_key(k) for k in settings.ORBIT_BACKUP_OLD_KEYS]
    return keys


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"key-id:" + key).digest()[:8]


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">I?", index, last)


def encrypt_file(source: str, target: str) -> str:
    """Encrypt file `source` into `target`; returns the SHA-256 of what was written."""
    key = current_key()
    aes = AESGCM(key)
    header = MAGIC + key_id(key) + os.urandom(8)
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(target, "wb") as dst:
        dst.write(header)
        digest.update(header)
        index = 0
        block = src.read(CHUNK)
        while True:
            following = src.read(CHUNK) if block else b""
            last = not following
            sealed = aes.encrypt(header[-8:] + struct.pack(">I", index), block, _aad(header, index, last))
            piece = struct.pack(">I", len(sealed)) + sealed
            dst.write(piece)
            digest.update(piece)
            if last:
                break
            block, index = following, index + 1
    return digest.hexdigest()


def decrypt_file(source: str, target: str, *, what: str = "the backup") -> None:
    """Decrypt `source` into `target`, or refuse with a DataError saying what is wrong."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        header = src.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE or not header.startswith(MAGIC):
            raise DataError(f"{what} is not an Orbit backup or export (unknown format)")
        wanted = header[len(MAGIC):len(MAGIC) + 8]
        key = next((k for k in known_keys() if key_id(k) == wanted), None)
        if key is None:
            raise DataError(f"{what} was encrypted with another key: set it in ORBIT_BACKUP_KEY or ORBIT_BACKUP_OLD_KEYS")
        aes = AESGCM(key)
        index = 0
        while True:
            size_bytes = src.read(4)
            if len(size_bytes) < 4:
                raise DataError(f"{what} is truncated: it ends before its last block")
            (size,) = struct.unpack(">I", size_bytes)
            if size < TAG or size > CHUNK + TAG:
                raise DataError(f"{what} is corrupted (block {index} has an impossible size)")
            sealed = src.read(size)
            if len(sealed) < size:
                raise DataError(f"{what} is truncated: block {index} is cut short")
            nonce = header[-8:] + struct.pack(">I", index)
            for last in (False, True):
                try:
                    plain = aes.decrypt(nonce, sealed, _aad(header, index, last))
                except InvalidTag:
                    continue
                break
            else:
                raise DataError(f"{what} is corrupted: block {index} fails its authentication check")
            dst.write(plain)
            if last:
                if src.read(1):
                    raise DataError(f"{what} is corrupted: there are bytes after its last block")
                return
            index += 1


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
