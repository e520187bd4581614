"""ASGI middlewares for websockets, which bypass Django's middleware stack.

`orbit.routing` composes them in this order: origin check → tenant → auth. Each one
refuses the handshake (a close before accept, which the server answers with HTTP 403)
rather than letting a connection in that HTTP would have turned away."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port

from accounts.models import ApiToken
from accounts.tokens import api_token_from
from orbit.lib.context import current_schema
from orbit.lib.tenancy import in_schema
from tenants import routing

_DEFAULT_PORTS = {"http": "80", "https": "443"}
# The scheme of the page that may open a websocket of each scheme.
_PAGE_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def header(scope, name: bytes, sep: str = ", ") -> str | None:
    """The value of a request header (repeated ones joined with sep), or None."""
    values = [v.decode("latin1") for k, v in scope.get("headers", []) if k.lower() == name]
    return sep.join(values) if values else None


async def refuse(scope, receive, send) -> None:
    """Turn the handshake down: close before accept (the server answers HTTP 403)."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 4003})


def same_origin(origin: str, host: str, scheme: str = "ws") -> bool:
    """Does the Origin header name the same scheme, host and port as the request?

    `scheme` is the websocket's own (the ASGI scope's "ws" or "wss"; behind a trusted proxy
    uvicorn takes it from X-Forwarded-Proto): a page is same-origin only over the matching
    HTTP scheme, so an https:// page is not the origin of a ws:// socket, nor the reverse."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port
    except ValueError:
        return False
    if not parts.scheme or not parts.hostname:
        return False  # includes the opaque origin "null"
    host_name, host_port = split_domain_port(host)
    if not host_name:
        return False
    page_scheme = _PAGE_SCHEMES.get((scheme or "ws").lower())
    if page_scheme is None or parts.scheme.lower() != page_scheme:
        return False
    default = _DEFAULT_PORTS[page_scheme]
    origin_port_str = str(origin_port) if origin_port is not None else default
    return parts.hostname.lower() == host_name and origin_port_str == (host_port or default)


class OriginCheckMiddleware:
    """Same-origin only (scheme, host and port): the inbox and the widget iframe are served
    from the tenant's host.

    A missing Origin is let through (bots and load tests; browsers always send one)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            origin = header(scope, b"origin")
            host = header(scope, b"host") or ""
            if origin is not None and not same_origin(origin, host, scope.get("scheme") or "ws"):
                return await refuse(scope, receive, send)
        return await self.app(scope, receive, send)


class TenantMiddleware:
    """Resolve the Host header exactly as HTTP does; put the organization in scope['tenant'].

    Unknown hosts, blocked (suspended or cancelled) tenants and the platform host (no
    websockets on the public schema) are refused."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        hostname, _port = split_domain_port(header(scope, b"host") or "")
        if not hostname or routing.is_platform_host(hostname):
            return await refuse(scope, receive, send)
        organization = await routing.resolve_host_async(hostname)
        if organization is None or organization.is_blocked:
            return await refuse(scope, receive, send)
        token = current_schema.set(organization.schema_name)
        try:
            return await self.app({**scope, "tenant": organization}, receive, send)
        finally:
            current_schema.reset(token)


def _session_user(session_key: str):
    """The user a session (in the connection's current schema) belongs to, as HTTP sees it."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # django.contrib.auth.get_user only reads request.session: the user id, the backend
    # and the session auth hash (a password change logs other sessions out).
    return get_user(SimpleNamespace(session=session))


def api_token_from_scope(scope) -> str | None:
    """A personal API token from `Authorization: Bearer …` or the `?token=` query parameter
    (accounts.tokens.api_token_from: the widget's visitor token is none of this middleware's business)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token", [None])[0]
    return api_token_from(authorization=header(scope, b"authorization"), query_token=query)


def _token_user(token: str):
    return ApiToken.objects.authenticate(token) or AnonymousUser()


class TenantAuthMiddleware:
    """scope['user'] from the session cookie, or else a personal API token, read inside the tenant's schema.

    Sessions, tokens and users live in each tenant's schema, so a cookie or token from
    another tenant finds nothing and yields AnonymousUser. Needs TenantMiddleware above it.
    scope['auth'] says which one authenticated: "session", "token" or None."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        user = AnonymousUser()
        cookies = parse_cookie(header(scope, b"cookie", "; ") or "")
        session_key = cookies.get(settings.SESSION_COOKIE_NAME)
        auth = None
        if session_key:
            user = await in_schema(scope["tenant"], _session_user, session_key)
            auth = "session" if user.is_authenticated else None
        token = api_token_from_scope(scope) if not user.is_authenticated else None
        if token:
            user = await in_schema(scope["tenant"], _token_user, token)
            auth = "token" if user.is_authenticated else None
        return await self.app({**scope, "user": user, "auth": auth}, receive, send)
