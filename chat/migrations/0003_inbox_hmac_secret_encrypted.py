"""Inbox HMAC secrets are encrypted at rest (accounts.crypto, ORBIT_SECRETS_KEY): the column
becomes text, and every existing secret is encrypted in place. Backwards: decrypted again."""

from django.db import migrations

import accounts.fields
import chat.models
from accounts import crypto


def _rewrite(schema_editor, transform, wanted):
    connection = schema_editor.connection
    table = connection.ops.quote_name("chat_inbox")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, hmac_secret FROM {table} FOR UPDATE")
        for pk, stored in cursor.fetchall():
            if stored and wanted(stored):
                cursor.execute(f"UPDATE {table} SET hmac_secret = %s WHERE id = %s", [transform(stored), pk])


def encrypt_secrets(apps, schema_editor):
    _rewrite(schema_editor, crypto.encrypt, lambda stored: not crypto.is_encrypted(stored))


def decrypt_secrets(apps, schema_editor):
    _rewrite(schema_editor, crypto.decrypt, crypto.is_encrypted)


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0002_drop_covered_fk_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='inbox',
            name='hmac_secret',
            field=accounts.fields.EncryptedTextField(default=chat.models.new_hmac_secret, editable=False),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
    ]
