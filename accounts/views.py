"""Logging in and out (tenants' hosts and the platform's admin), the second factor, and each
person's security page (two-factor authentication, sessions, the owner's requirement).

Thin: parse, call accounts.twofactor / accounts.usersessions / accounts.services, render."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import twofactor, usersessions
from accounts.audit import USER_AGENT_MAX
from accounts.forms import CodeForm
from accounts.models import UserSession
from accounts.services import UserRefused, audit_record


@login_required
def home(request):
    return render(request, "accounts/home.html", {"organization": request.tenant})


# --- logging in --------------------------------------------------------------------------------


def _is_platform(request) -> bool:
    return getattr(getattr(request, "tenant", None), "schema_name", "public") == "public"


def _step_url(request, step: str) -> str:
    return reverse(f"platform_login_{step}") if _is_platform(request) else reverse(f"accounts:login_{step}")


def _login_url(request) -> str:
    return reverse("admin:login") if _is_platform(request) else reverse("accounts:login")


def _safe_next(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return reverse("admin:index") if _is_platform(request) else "/"


def _clean_username(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch.isprintable())[:USER_AGENT_MAX]


class TwoStepLoginMixin:
    """The password step: a person with a second factor (or who must have one) is not logged
    in yet, only remembered as pending; every refusal is in the audit log."""

    def form_valid(self, form):
        request = self.request
        user = form.get_user()
        next_url = self.get_success_url()
        organization = getattr(request, "tenant", None)
        enabled = twofactor.two_factor_enabled(user)
        if enabled or twofactor.two_factor_required(user=user, organization=organization):
            twofactor.pending_start(request, user=user, backend=user.backend, next_url=next_url)
            return redirect(_step_url(request, "verify" if enabled else "setup"))
        auth_login(request, user)
        audit_record(action="login.success", actor=user, target=user.email, detail={"method": "password"},
                     request=request)
        return redirect(next_url)

    def form_invalid(self, form):
        username = _clean_username(self.request.POST.get("username", ""))
        audit_record(action="login.failure", actor_label=username, target=username, detail={"step": "password"},
                     request=self.request)
        return super().form_invalid(form)


class LoginView(TwoStepLoginMixin, auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PlatformLoginView(TwoStepLoginMixin, auth_views.LoginView):
    """The admin's login page (django.contrib.admin's, with the two steps)."""

    authentication_form = AdminAuthenticationForm
    template_name = "admin/login.html"

    def dispatch(self, request, *args, **kwargs):
        from django.contrib import admin

        if request.method == "GET" and admin.site.has_permission(request):
            return redirect("admin:index")
        request.current_app = admin.site.name
        return super().dispatch(request, *args, **kwargs)

    def get_default_redirect_url(self):
        return reverse("admin:index")

    def get_context_data(self, **kwargs):
        from django.contrib import admin

        context = super().get_context_data(**kwargs)
        context.update(admin.site.each_context(self.request))
        context.update({"title": _("Entrar"), "subtitle": None, "app_path": self.request.get_full_path(),
                        "username": self.request.user.get_username()})
        if REDIRECT_FIELD_NAME not in self.request.GET and REDIRECT_FIELD_NAME not in self.request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index")
        return context


def _finish_login(request, user, method: str):
    next_url = _safe_next(request, twofactor.pending_next(request))
    twofactor.pending_clear(request)
    auth_login(request, user, backend=user.backend)
    twofactor.mark_verified(request, method)
    audit_record(action="login.success", actor=user, target=user.email, detail={"method": method}, request=request)
    if method == "recovery":
        left = twofactor.recovery_codes_left(user)
        audit_record(action="2fa.recovery_used", actor=user, target=user.email, detail={"left": left}, request=request)
        messages.warning(request, _("Você entrou com um código de recuperação. Restam %(n)d.") % {"n": left})
    return next_url


def _step_context(request, **extra) -> dict:
    return {"login_url": _login_url(request), "platform": _is_platform(request), **extra}


def _start_over(request, message: str):
    messages.error(request, message)
    return redirect(_login_url(request))


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
def login_verify(request):
    """The code step: a TOTP code or a recovery code."""
    user = twofactor.pending_user(request)
    if user is None:
        return _start_over(request, _("Sua entrada expirou. Informe o e-mail e a senha de novo."))
    if not twofactor.two_factor_enabled(user):
        return redirect(_step_url(request, "setup"))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        error = ""
        method = None
        if form.is_valid():
            try:
                method = twofactor.verify(user=user, code=form.cleaned_data["code"])
            except twofactor.TwoFactorRefused as refused:
                error = str(refused)
        if method:
            return redirect(_finish_login(request, user, method))
        audit_record(action="login.2fa_failure", actor=user, target=user.email, request=request)
        if twofactor.pending_failed(request):
            audit_record(action="login.2fa_locked", actor=user, target=user.email, request=request)
            return _start_over(request, _("Códigos errados demais. Entre de novo com e-mail e senha."))
        form.add_error("code", error or _("Código incorreto. Tente de novo."))
        status = 400
    return render(request, "accounts/login_verify.html", _step_context(request, form=form, email=user.email),
                  status=status)


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
def login_setup(request):
    """Enrolment on the way in, for a person who must have a second factor and has none."""
    user = twofactor.pending_user(request)
    if user is None:
        return _start_over(request, _("Sua entrada expirou. Informe o e-mail e a senha de novo."))
    if twofactor.two_factor_enabled(user):
        return redirect(_step_url(request, "verify"))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = twofactor.enrolment_confirm(user=user, code=form.cleaned_data["code"], request=request)
        except twofactor.TwoFactorRefused as refused:
            form.add_error("code", str(refused))
            if twofactor.pending_failed(request):
                return _start_over(request, _("Códigos errados demais. Entre de novo com e-mail e senha."))
        else:
            next_url = _finish_login(request, user, "enrolled")
            return _recovery_codes_page(request, codes, continue_url=next_url)
    if form.errors:
        status = 400
    context = _step_context(request, form=form, email=user.email, **_enrolment(request, user))
    return render(request, "accounts/login_setup.html", context, status=status)


def _enrolment(request, user) -> dict:
    device = twofactor.enrolment_start(user=user)
    brand_name = getattr(getattr(request, "tenant", None), "name", "") if not _is_platform(request) else ""
    uri = twofactor.provisioning_uri(device=device, account=user.email, issuer=brand_name or "Orbit")
    return {"qr_svg": twofactor.qr_svg(uri), "secret": twofactor.secret_base32(device)}


def _recovery_codes_page(request, codes: list[str], *, continue_url: str):
    response = render(request, "accounts/recovery_codes.html", {"codes": codes, "continue_url": continue_url})
    response["Cache-Control"] = "no-store"  # shown once: keep them out of every cache
    return response


class LogoutView(auth_views.LogoutView):
    """Log out (POST), recorded; the session's row on the sessions page goes too."""

    def post(self, request, *args, **kwargs):
        user = request.user
        key = request.session.session_key
        if user.is_authenticated:
            audit_record(action="logout", actor=user, target=user.email, request=request)
        response = super().post(request, *args, **kwargs)
        usersessions.session_forget(session_key=key)
        return response


# --- the security page: 2FA, sessions, the owner's requirement ---------------------------------


def person_required(view):
    """A person of this tenant (not a partner's support identity, not the platform host)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if _is_platform(request) or request.user.is_support:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _security_page(request, *, form=None, status: int = 200, error: str = ""):
    user = request.user
    organization = request.tenant
    context = {
        "section": "security",
        "enabled": twofactor.two_factor_enabled(user),
        "codes_left": twofactor.recovery_codes_left(user),
        "policy": twofactor.policy_get(organization=organization),
        "is_owner": user.role == "owner",
        "is_partner": twofactor.is_partner(organization),
        "required": twofactor.two_factor_required(user=user, organization=organization),
        "sessions": usersessions.session_list(user=user, current_key=request.session.session_key),
        "form": form or CodeForm(),
        "error": error,
        "people_2fa": twofactor.people_with_two_factor().exclude(pk=user.pk) if user.is_tenant_admin else [],
    }
    return render(request, "accounts/security.html", context, status=status)


@never_cache
@person_required
def security(request):
    return _security_page(request)


@never_cache
@person_required
def two_factor_setup(request):
    """Turn 2FA on from the security page: the QR code, then the first code."""
    user = request.user
    if twofactor.two_factor_enabled(user):
        return redirect("accounts:security")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = twofactor.enrolment_confirm(user=user, code=form.cleaned_data["code"], request=request)
        except twofactor.TwoFactorRefused as refused:
            form.add_error("code", str(refused))
        else:
            twofactor.mark_verified(request, "enrolled")
            return _recovery_codes_page(request, codes, continue_url=reverse("accounts:security"))
    try:
        enrolment = _enrolment(request, user)
    except twofactor.TwoFactorRefused as refused:
        messages.error(request, str(refused))
        return redirect("accounts:security")
    context = {"section": "security", "form": form, **enrolment}
    return render(request, "accounts/two_factor_setup.html", context, status=400 if form.errors else 200)


@never_cache
@person_required
@require_POST
def two_factor_disable(request):
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _security_page(request, form=form, status=400)
    try:
        twofactor.disable(user=request.user, code=form.cleaned_data["code"], organization=request.tenant,
                          request=request)
    except twofactor.TwoFactorRefused as refused:
        return _security_page(request, error=str(refused), status=400)
    messages.success(request, _("Verificação em duas etapas desativada."))
    return redirect("accounts:security")


@never_cache
@person_required
@require_POST
def recovery_codes_regenerate(request):
    form = CodeForm(request.POST)
    if not form.is_valid():
        return _security_page(request, form=form, status=400)
    try:
        codes = twofactor.recovery_codes_regenerate(user=request.user, code=form.cleaned_data["code"], request=request)
    except twofactor.TwoFactorRefused as refused:
        return _security_page(request, error=str(refused), status=400)
    return _recovery_codes_page(request, codes, continue_url=reverse("accounts:security"))


@person_required
@require_POST
def two_factor_policy(request):
    try:
        twofactor.policy_set(
            organization=request.tenant, actor=request.user, request=request,
            require_all=request.POST.get("require_all") == "on", require_clients=request.POST.get("require_clients") == "on",
        )
    except twofactor.TwoFactorRefused as refused:
        return _security_page(request, error=str(refused), status=400)
    messages.success(request, _("Exigência salva."))
    return redirect("accounts:security")


@person_required
@require_POST
def session_revoke(request, session_id: int):
    try:
        usersessions.session_revoke(user=request.user, session_id=session_id,
                                    current_key=request.session.session_key, request=request)
    except UserSession.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Sessão encerrada."))
    return redirect("accounts:security")


@person_required
@require_POST
def session_revoke_others(request):
    ended = usersessions.session_revoke_others(user=request.user, current_key=request.session.session_key,
                                               request=request)
    messages.success(request, _("Você saiu de %(n)d outra(s) sessão(ões).") % {"n": ended})
    return redirect("accounts:security")


@person_required
@require_POST
def two_factor_reset(request, user_id: int):
    """An owner or admin resets another person's second factor."""
    if not request.user.is_tenant_admin:
        raise Http404
    try:
        person = twofactor.two_factor_reset(user_id=user_id, actor=request.user, request=request)
    except UserRefused as refused:
        return _security_page(request, error=str(refused), status=400)
    except get_user_model().DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Verificação em duas etapas de %(email)s redefinida.") % {"email": person.email})
    return redirect("accounts:security")
