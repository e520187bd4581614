"""The language of a logged-in person is theirs (User.language), wherever they log in;
otherwise LocaleMiddleware's choice (cookie, then the browser's Accept-Language) stands."""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.shortcuts import redirect
from django.utils import translation
from django_tenants.utils import get_public_schema_name

from accounts import audit, twofactor, usersessions
from accounts.operator import admin_action_record, admin_action_snapshot
from accounts.services import audit_download


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.codes = {code for code, _label in settings.LANGUAGES}

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language in self.codes:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language in self.codes:
            response.headers.setdefault("Content-Language", language)
        return response


class AccountSecurityMiddleware:
    """After authentication: the second factor, sessions seen, operators' admin changes.

    * A session that has not passed the second factor where one is required (a policy
      switched on, an operator) goes back to the code step: its login becomes a pending one
      (accounts.twofactor) and the browser is sent to enter a code or enrol.
    * Each authenticated session is recorded (at most once a minute) for the sessions page.
    * On the platform host, an admin POST answered with a redirect is recorded in the
      operator's log and the organizations' (accounts.operator)."""

    EXEMPT_PREFIXES = ("/static/", "/i18n/", "/accounts/logout/", "/admin/logout/", "/accounts/login/",
                       "/admin/login/", "/healthz", "/readyz", "/livez", "/brand/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            refusal = self._second_factor_gate(request, user)
            if refusal is not None:
                return refusal
        recorded = audit.written.set([])
        try:
            response = self.get_response(request)
            self._record_download(request, response, audit)
        finally:
            audit.written.reset(recorded)
        snapshot = getattr(request, "_orbit_admin_action", None)
        if snapshot is not None and 300 <= response.status_code < 400:
            admin_action_record(request=request, snapshot=snapshot)
        usersessions.session_touch(request)
        return response

    @staticmethod
    def _record_download(request, response, audit) -> None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or response.status_code != 200 or audit.written.get():
            return
        if request.path.startswith(audit.DOWNLOAD_SKIP_PREFIXES):
            return
        filename = audit.attachment_name(response)
        if filename is not None:
            audit_download(request=request, filename=filename)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or not request.path.startswith("/admin/"):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return None
        if connection.schema_name != get_public_schema_name():
            return None
        request._orbit_admin_action = admin_action_snapshot(request, view_func, view_kwargs)
        return None

    def _second_factor_gate(self, request, user):
        if twofactor.session_verified(request) or request.path.startswith(self.EXEMPT_PREFIXES):
            return None
        organization = getattr(request, "tenant", None)
        if not twofactor.session_requirement(request, user=user, organization=organization):
            return None
        backend = request.session.get(BACKEND_SESSION_KEY) or "django.contrib.auth.backends.ModelBackend"
        # The session stops being a login: the person proves the second factor (or enrols) first.
        request.session.flush()
        request.user = AnonymousUser()
        next_url = request.get_full_path() if request.method == "GET" else ""
        twofactor.pending_start(request, user=user, backend=backend, next_url=next_url)
        platform = getattr(organization, "schema_name", "public") == "public"
        step = "verify" if twofactor.two_factor_enabled(user) else "setup"
        return redirect(f"/admin/login/{step}/" if platform else f"/accounts/login/{step}/")
