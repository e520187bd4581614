"""Tokens: password-reset tokens bound to the schema they were issued in, and the parser of
personal API tokens on the wire."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import connection

from accounts.models import ApiToken


class TenantPasswordResetTokenGenerator(PasswordResetTokenGenerator):
    def _make_hash_value(self, user, timestamp):
        return f"{connection.schema_name}:{super()._make_hash_value(user, timestamp)}"


password_reset_token = TenantPasswordResetTokenGenerator()


# --- personal API tokens on the wire ----------------------------------------------------

CREDENTIAL_SCHEMES = ("bearer", "token")


def authorization_credential(authorization: str | None) -> str | None:
    """The credential of an `Authorization: Bearer …` (or `Token …`) header value, or None."""
    scheme, _sep, value = (authorization or "").partition(" ")
    value = value.strip()
    return value if scheme.lower() in CREDENTIAL_SCHEMES and value else None


def api_token_from(*, authorization: str | None = None, query_token: str | None = None) -> str | None:
    """THE parser of a personal API token (HTTP API and agent websockets): from the
    Authorization header, else the `?token=` query value. Only values shaped like an API
    token count: the widget's visitor token also travels as a bearer and in `?token=`."""
    from_header = authorization_credential(authorization)
    for token in (from_header, query_token):
        if token and token.startswith(ApiToken.PREFIX):
            return token
    return None
