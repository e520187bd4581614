"""The human-facing views' limits (login, password reset, invitations, widget sessions):
django-ratelimit's `ratelimit` decorator, one window per tenant and client IP or account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django_ratelimit.core import get_usage
from django_ratelimit.decorators import ratelimit

from billing import cache_keys
from orbit.lib.ratelimit.client_ip import client_ip
from orbit.lib.ratelimit.responses import too_many_attempts_page


@dataclass(frozen=True)
class ViewLimit:
    """One django-ratelimit window over a view, per tenant and `ident`: the client's IP, or
    an account read from the request (None or "": this window does not count the request).
    Its rate is the setting `setting` (read per request, so tests and operators can change it)."""

    scope: str  # in the key: password-reset-ip, invite-account, widget-session-ip …
    setting: str
    ident: Callable[..., str | None]

    @property
    def group(self) -> str:
        return f"orbit.{self.scope}"

    def key(self, _group, request) -> str:
        schema = getattr(getattr(request, "tenant", None), "schema_name", None) or "public"
        return cache_keys.ratelimit_value(schema=schema, scope=self.scope, ident=self.ident(request) or "")

    def rate(self, _group, request) -> str | None:
        return getattr(settings, self.setting) if self.ident(request) else None


def per_ip(scope: str, setting: str) -> ViewLimit:
    return ViewLimit(scope=scope, setting=setting, ident=client_ip)


def per_account(scope: str, setting: str, account: Callable[..., str | None]) -> ViewLimit:
    """`account(request)`: the e-mail, person or identity the request is about."""

    def ident(request) -> str | None:
        value = account(request)
        if not isinstance(value, str) or not value.strip():
            return None
        # django-ratelimit hashes the key as UTF-8: a lone surrogate is escaped, never a 500
        return value.strip().lower()[:254].encode("utf-8", "backslashreplace").decode("utf-8")

    return ViewLimit(scope=scope, setting=setting, ident=ident)


def _retry_after(request, limits: tuple[ViewLimit, ...], methods: list[str]) -> int:
    waits = []
    for limit in limits:
        usage = get_usage(request, group=limit.group, key=limit.key, rate=limit.rate, method=methods, increment=False)
        if usage and usage["should_limit"]:
            waits.append(usage["time_left"])
    return max(1, *waits) if waits else 60


def throttle(*limits: ViewLimit, refuse: Callable[..., HttpResponse] | None = None, methods=("POST",)):
    """Limit a view with django-ratelimit's `ratelimit` decorator, once per window (the shared
    cache, settings.RATELIMIT_USE_CACHE; keys with the tenant, cache_keys.ratelimit_value).
    Every window counts the request; once any is over, `refuse(request, seconds)` answers
    instead of the view (default: the 429 page). Only `methods` count (POST: a form shown
    again costs nothing)."""
    methods = list(methods)
    refuse = refuse or too_many_attempts_page

    def decorator(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if getattr(request, "limited", False):
                return refuse(request, _retry_after(request, limits, methods))
            return view(request, *args, **kwargs)

        wrapped = guarded
        for limit in reversed(limits):
            wrapped = ratelimit(group=limit.group, key=limit.key, rate=limit.rate, method=methods, block=False)(wrapped)
        return wrapped

    return decorator


def posted(field: str) -> Callable[..., str | None]:
    """An account read from a form field."""
    return lambda request: request.POST.get(field)


def person(request) -> str | None:
    """The logged-in person (their id: e-mails change)."""
    user = getattr(request, "user", None)
    return f"user:{user.pk}" if user is not None and user.is_authenticated else None
