"""Secrets at rest: inbox HMAC secrets and TOTP seeds are encrypted in the database, stay
readable through a key rotation, and `manage.py secrets rotate` moves them to the new key."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from accounts import crypto
from accounts.models import TotpDevice
from chat.models import Inbox
from tests.factories import owner_email

ROOT = Path(__file__).resolve().parents[2]
KEY_A = crypto.generate_key()
KEY_B = crypto.generate_key()


def _raw(schema: str, table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{schema}"."{table}" WHERE id = %s', [pk])
        return cursor.fetchone()[0]


@pytest.fixture
def inbox(db, tenant):
    with schema_context(tenant.schema_name):
        return Inbox.objects.create(name="Site")


def test_inbox_secrets_are_encrypted_at_rest_and_clear_in_python(inbox, tenant):
    stored = _raw(tenant.schema_name, "chat_inbox", "hmac_secret", inbox.pk)
    assert stored.startswith(f"enc1:{crypto.current_key_id()}:") and inbox.hmac_secret not in stored
    with schema_context(tenant.schema_name):
        again = Inbox.objects.get(pk=inbox.pk)
    assert again.hmac_secret == inbox.hmac_secret and len(again.hmac_secret) == 64


def test_the_widget_identity_check_still_works(inbox, tenant):
    from chat.services.visitors import identity_hmac

    with schema_context(tenant.schema_name):
        fresh = Inbox.objects.get(pk=inbox.pk)
    import hashlib
    import hmac

    expected = hmac.new(inbox.hmac_secret.encode(), b"cliente-42", hashlib.sha256).hexdigest()
    assert identity_hmac(inbox=fresh, identifier="cliente-42") == expected


def test_totp_seeds_are_encrypted_too(db, tenant):
    from django.contrib.auth import get_user_model

    with schema_context(tenant.schema_name):
        user = get_user_model().objects.get(email=owner_email(tenant.slug))
        device = TotpDevice.objects.create(user=user, name="x", confirmed=False)
    stored = _raw(tenant.schema_name, "accounts_totpdevice", "key", device.pk)
    assert crypto.is_encrypted(stored) and device.key not in stored


def test_rotation_keeps_everything_readable_and_moves_it_to_the_new_key(inbox, tenant, settings, capsys):
    settings.ORBIT_SECRETS_KEY = KEY_A
    with schema_context(tenant.schema_name):
        Inbox.objects.filter(pk=inbox.pk).update(hmac_secret=inbox.hmac_secret)  # written with A
        second = Inbox.objects.create(name="App")
    assert crypto.stored_key_id(_raw(tenant.schema_name, "chat_inbox", "hmac_secret", inbox.pk)) == crypto.key_id(KEY_A)

    settings.ORBIT_SECRETS_KEY, settings.ORBIT_SECRETS_OLD_KEYS = KEY_B, [KEY_A]
    with schema_context(tenant.schema_name):  # during the rotation: readable
        assert Inbox.objects.get(pk=inbox.pk).hmac_secret == inbox.hmac_secret
    call_command("secrets", "rotate", "--dry-run")
    assert crypto.stored_key_id(_raw(tenant.schema_name, "chat_inbox", "hmac_secret", inbox.pk)) == crypto.key_id(KEY_A)
    call_command("secrets", "rotate")
    out = capsys.readouterr().out
    assert "re-encrypted" in out
    for pk in (inbox.pk, second.pk):
        assert crypto.stored_key_id(_raw(tenant.schema_name, "chat_inbox", "hmac_secret", pk)) == crypto.key_id(KEY_B)

    settings.ORBIT_SECRETS_OLD_KEYS = []  # the old key dropped: nothing needs it any more
    with schema_context(tenant.schema_name):
        assert Inbox.objects.get(pk=inbox.pk).hmac_secret == inbox.hmac_secret
    call_command("secrets", "status")
    assert f"{crypto.key_id(KEY_B)}:" in capsys.readouterr().out


def test_a_value_no_key_opens_is_reported_not_destroyed(inbox, tenant, settings):
    settings.ORBIT_SECRETS_KEY = KEY_A
    with schema_context(tenant.schema_name):
        Inbox.objects.filter(pk=inbox.pk).update(hmac_secret="segredo")
    before = _raw(tenant.schema_name, "chat_inbox", "hmac_secret", inbox.pk)
    settings.ORBIT_SECRETS_KEY = KEY_B  # A forgotten
    with pytest.raises(CommandError, match="no configured key opens"):
        call_command("secrets", "rotate")
    assert _raw(tenant.schema_name, "chat_inbox", "hmac_secret", inbox.pk) == before
    with schema_context(tenant.schema_name), pytest.raises(crypto.SecretUndecryptable):
        Inbox.objects.get(pk=inbox.pk)


def test_a_malformed_key_is_a_clear_error(settings):
    settings.ORBIT_SECRETS_KEY = "not-a-key"
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        crypto.encrypt("x")
    with pytest.raises(CommandError, match="32 bytes"):
        call_command("secrets", "status")


def test_the_data_migration_encrypts_plaintext_secrets_and_back(inbox, tenant):
    migration = importlib.import_module("chat.migrations.0003_inbox_hmac_secret_encrypted")
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{tenant.schema_name}"."chat_inbox" SET hmac_secret = %s WHERE id = %s', ["a" * 64, inbox.pk])
    with schema_context(tenant.schema_name):
        assert Inbox.objects.get(pk=inbox.pk).hmac_secret == "a" * 64  # a plaintext stays readable
        with connection.schema_editor() as editor:
            migration.encrypt_secrets(None, editor)
    stored = _raw(tenant.schema_name, "chat_inbox", "hmac_secret", inbox.pk)
    assert crypto.is_encrypted(stored) and crypto.decrypt(stored) == "a" * 64
    with schema_context(tenant.schema_name):
        with connection.schema_editor() as editor:
            migration.decrypt_secrets(None, editor)
    assert _raw(tenant.schema_name, "chat_inbox", "hmac_secret", inbox.pk) == "a" * 64


def test_the_development_key_is_derived_and_production_refuses_to_start_without_one():
    assert crypto.development_key("abc") == crypto.development_key("abc") != crypto.development_key("abd")
    services = ROOT / "var" / "services.env"
    env = dict(line.split("=", 1) for line in services.read_text().splitlines() if "=" in line) if services.exists() else {}
    env = {**os.environ, **env, "ORBIT_PRODUCTION": "1", "ORBIT_SECRET_KEY": "x" * 50}
    env.pop("ORBIT_SECRETS_KEY", None)
    env.pop("ORBIT_TESTING", None)
    done = subprocess.run([sys.executable, "-c", "import orbit.settings"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "ORBIT_SECRETS_KEY must be set when ORBIT_PRODUCTION=1" in done.stderr
    env["ORBIT_SECRETS_KEY"] = KEY_A
    done = subprocess.run([sys.executable, "-c", "import orbit.settings"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
