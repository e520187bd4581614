"""Password-reset tokens bound to the schema they were issued in."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import connection


class TenantPasswordResetTokenGenerator(PasswordResetTokenGenerator):
    def _make_hash_value(self, user, timestamp):
        return f"{connection.schema_name}:{super()._make_hash_value(user, timestamp)}"


password_reset_token = TenantPasswordResetTokenGenerator()
