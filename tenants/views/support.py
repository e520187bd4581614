"""Support access, redeemed on the client's own host: a partner's one-time link logs in
the partner's support identity of this schema with a short, absolute session."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from tenants import services

SUPPORT_UNTIL_KEY = "orbit_support_until"


@never_cache
def enter(request):
    try:
        user = services.support_access_redeem(organization=request.tenant, token=request.GET.get("t", ""))
    except services.SupportRefused as refused:
        return render(request, "tenants/support_refused.html", {"reason": str(refused)}, status=403)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    until = timezone.now() + timedelta(seconds=services.SUPPORT_SESSION_SECONDS)
    request.session.set_expiry(until)  # absolute: activity does not extend it
    request.session[SUPPORT_UNTIL_KEY] = until.isoformat()
    return redirect("home")
