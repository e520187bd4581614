"""Who may open the settings pages and the partner console. Refusals are 404s: an agent,
a stranger and a wrong tenant all see "not found"."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from tenants.selectors import console_access


def _tenant_admin(request) -> bool:
    user = request.user
    return getattr(request, "tenant", None) is not None and user.is_authenticated and user.is_tenant_admin


def tenant_admin_required(view):
    """Owners and admins of this tenant (and a partner's support identity, an admin)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not _tenant_admin(request):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def person_required(view):
    """Any active person of this tenant, for their own things (API tokens); not a partner's
    support identity, whose visit is temporary."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "tenant", None) is None or request.user.is_support:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def console_required(*, manage: bool = False):
    """A partner's admins ("manage"), or also a holding's for read-only pages."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            access = console_access(organization=getattr(request, "tenant", None), user=request.user)
            if access is None or (manage and access != "manage") or getattr(request.user, "is_support", False):
                raise Http404
            request.console_access = access
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
