from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils import translation


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
