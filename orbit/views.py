"""Composition-layer views: accounts' flows dressed in the tenant's brand.

accounts sits below branding, so the brand is put into its views here, where every
app may be imported."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.i18n import set_language as django_set_language

from accounts.forms import TenantPasswordResetForm
from accounts.services import UserRefused, user_set_language
from accounts.tokens import password_reset_token
from billing.ratelimit import per_account, per_ip, posted, throttle
from branding.selectors import brand_email_headers, effective_brand
from tenants.selectors import organization_base_url


@method_decorator(
    throttle(
        per_ip("password-reset-ip", "BILLING_PASSWORD_RESET_IP_RATE"),
        per_account("password-reset-account", "BILLING_PASSWORD_RESET_ACCOUNT_RATE", posted("email")),
    ),
    name="dispatch",
)
class BrandedPasswordResetView(auth_views.PasswordResetView):
    """The password-reset e-mail goes out under the brand's sender name and Reply-To,
    names the brand, is written in the person's language, and links to the tenant's own
    address (its primary domain, never the request's Host). Requests are limited per tenant
    and IP and per tenant and e-mail asked for (a 429 page, no e-mail)."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    token_generator = password_reset_token
    form_class = TenantPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        tenant = getattr(self.request, "tenant", None)
        brand = effective_brand(tenant)
        self.from_email, reply_to = brand_email_headers(brand)
        self.extra_email_context = {"company_name": brand.company_name, "reply_to": reply_to}
        if tenant is not None:
            protocol, _sep, domain = organization_base_url(organization=tenant).partition("://")
            self.extra_email_context |= {"protocol": protocol, "domain": domain, "site_name": domain}
        return super().form_valid(form)


def set_language(request):
    """Django's language switch, also remembered on the person (User.language)."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated:
        try:
            user_set_language(user=request.user, language=language)
        except UserRefused:
            pass  # django's view already ignored an unknown code
    return response
