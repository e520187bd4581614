"""Who may open chat's pages. Refusals of a logged-in person are 404s, like the settings pages:
an agent on the reports page, a stranger and a wrong tenant all see "not found"."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404


def _on_tenant(request) -> bool:
    return getattr(request, "tenant", None) is not None and getattr(request.tenant, "schema_name", "public") != "public"


def agent_required(view):
    """Logged-in people of this tenant (users are per schema, so another tenant's session is anonymous here)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _on_tenant(request):
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    """Tenant owners and admins only (reports)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _on_tenant(request):
            raise Http404
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_tenant_admin:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
