from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class TenantPasswordResetForm(PasswordResetForm):
    """Password reset whose e-mail carries the caller's Reply-To (extra_email_context
    "reply_to") and is written in the person's own language."""

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        user = context.get("user")
        language = getattr(user, "language", "") or translation.get_language() or settings.LANGUAGE_CODE
        with translation.override(language):
            subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
            body = loader.render_to_string(email_template_name, context)
            html = loader.render_to_string(html_email_template_name, context) if html_email_template_name else None
        message = EmailMultiAlternatives(subject, body, from_email, [to_email], reply_to=context.get("reply_to") or [])
        if html:
            message.attach_alternative(html, "text/html")
        message.send()


class CodeForm(forms.Form):
    """A second-factor code: 6 digits from the app, or a recovery code (xxxx-xxxx-xxxx)."""

    code = forms.CharField(
        label=_("Código"), max_length=40, strip=True,
        error_messages={"required": _("Digite o código."), "max_length": _("Código longo demais.")},
    )

    def clean_code(self):
        code = self.cleaned_data["code"]
        if any(not ch.isprintable() for ch in code) or any(0xD800 <= ord(ch) <= 0xDFFF for ch in code):
            raise forms.ValidationError(_("O código contém caracteres inválidos."))
        return code
