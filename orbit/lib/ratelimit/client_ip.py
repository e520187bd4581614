"""THE client address of the per-IP limits, behind the proxies the settings trust."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


def _address(value: str) -> str | None:
    """A normalised IP address out of a header entry ("1.2.3.4", "1.2.3.4:5678",
    "[2001:db8::1]:443", "2001:db8::1"), or None."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


@lru_cache(maxsize=16)
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def client_ip_from(*, remote_addr: str | None, header_value: str | None) -> str:
    """THE client address of the per-IP limits. `header_value` is the request's
    settings.ORBIT_TRUSTED_PROXY_IP_HEADER header (all of its lines joined by commas); with
    the setting unset, or no usable header, it is the connection's address (REMOTE_ADDR).
    X-Forwarded-For: the right-most address that is not one of ORBIT_TRUSTED_PROXIES (what
    a client writes is on the left, so it cannot choose its own key); any other header
    (X-Real-IP): its last value. Anything that is not an IP address falls back too."""
    fallback = remote_addr or "-"
    name = getattr(settings, "ORBIT_TRUSTED_PROXY_IP_HEADER", None)
    if not name or not header_value or not header_value.strip():
        return fallback
    entries = [entry for entry in header_value.split(",") if entry.strip()]
    if name.lower() != "x-forwarded-for":
        return _address(entries[-1]) or fallback
    trusted = _networks(tuple(getattr(settings, "ORBIT_TRUSTED_PROXIES", ())))
    address = None
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            return fallback
        if not any(ipaddress.ip_address(address) in network for network in trusted):
            return address
    return address or fallback  # all trusted: the client is one of our proxies


def client_ip(request) -> str:
    """client_ip_from() for a Django request."""
    name = getattr(settings, "ORBIT_TRUSTED_PROXY_IP_HEADER", None)
    header = request.META.get("HTTP_" + name.upper().replace("-", "_")) if name else None
    return client_ip_from(remote_addr=request.META.get("REMOTE_ADDR"), header_value=header)


def scope_client_ip(scope) -> str:
    """client_ip_from() for an ASGI scope (the edge's per-IP widget limit)."""
    name = getattr(settings, "ORBIT_TRUSTED_PROXY_IP_HEADER", None)
    header = None
    if name:
        wanted = name.lower().encode("latin-1")
        values = [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == wanted]
        header = ", ".join(values) or None
    return client_ip_from(remote_addr=(scope.get("client") or (None,))[0], header_value=header)
