"""Model fields for secrets at rest (accounts.crypto)."""

from __future__ import annotations

from django.db import models

from accounts import crypto


class EncryptedTextField(models.TextField):
    """Text kept encrypted in the database and clear in Python.

    Every write encrypts with the current key (ORBIT_SECRETS_KEY); reads accept every
    configured key, and plaintexts written before the field was encrypted. The stored value
    differs on every write, so the field cannot be filtered or made unique on; `secrets
    rotate` (accounts.secrets) finds each such field through `encrypted_fields()`."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        return None if value is None else crypto.decrypt(value)

    def to_python(self, value):
        if isinstance(value, str) and crypto.is_encrypted(value):
            return crypto.decrypt(value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or crypto.is_encrypted(value):
            return value
        return crypto.encrypt(value)


def encrypted_fields():
    """(model, field) for every EncryptedTextField of an installed, concrete model."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model, field))
    return found
