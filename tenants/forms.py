"""Forms of the settings pages and the partner console: they parse input only; the rules
live in the services, whose refusals come back as form errors."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.services import INVITABLE_ROLES
from billing.models import Plan
from tenants.models import Organization

COLOR_ATTRS = {"pattern": "#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", "placeholder": "#2f5bea", "size": 8, "class": "color"}
UPLOAD_READ_CAP = 4 * 1024 * 1024  # the services refuse far smaller files; never read more than this


def read_upload(upload) -> bytes | None:
    if not upload:
        return None
    upload.seek(0)
    return upload.read(UPLOAD_READ_CAP)


class BrandForm(forms.Form):
    POWERED_BY_CHOICES = [("", _("Herdar")), ("show", _("Mostrar")), ("hide", _("Ocultar"))]

    company_name = forms.CharField(label=_("Nome da empresa"), required=False, max_length=100)
    logo = forms.FileField(label=_("Logotipo"), required=False, help_text=_("PNG, JPEG, WebP ou SVG, até 512 KB."))
    remove_logo = forms.BooleanField(label=_("Remover o logotipo próprio"), required=False)
    favicon = forms.FileField(label=_("Favicon"), required=False, help_text=_("PNG, ICO, JPEG, WebP ou SVG, até 128 KB."))
    remove_favicon = forms.BooleanField(label=_("Remover o favicon próprio"), required=False)
    primary_color = forms.CharField(label=_("Cor principal"), required=False, max_length=7, widget=forms.TextInput(attrs=COLOR_ATTRS))
    secondary_color = forms.CharField(
        label=_("Cor secundária"), required=False, max_length=7, widget=forms.TextInput(attrs=COLOR_ATTRS)
    )
    email_sender_name = forms.CharField(label=_("Nome do remetente dos e-mails"), required=False, max_length=100)
    email_reply_to = forms.CharField(label=_("Responder para (e-mail)"), required=False, max_length=254)
    widget_greeting = forms.CharField(label=_("Saudação do widget"), required=False, max_length=300)
    widget_offline_message = forms.CharField(
        label=_("Mensagem quando não há ninguém online"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    show_powered_by = forms.ChoiceField(label=_("“Powered by”"), required=False, choices=POWERED_BY_CHOICES)
    custom_css = forms.CharField(
        label=_("CSS personalizado"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        help_text=_("Sem @import nem endereços externos; url() só para /brand/…"),
    )

    @classmethod
    def initial_from(cls, brand) -> dict:
        if brand is None:
            return {}
        data = {name: getattr(brand, name) for name in cls.base_fields if hasattr(brand, name) and name not in ("logo", "favicon")}
        data["show_powered_by"] = {True: "show", False: "hide"}.get(brand.show_powered_by, "")
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "company_name": data["company_name"],
            "primary_color": data["primary_color"],
            "secondary_color": data["secondary_color"],
            "custom_css": data["custom_css"],
            "email_sender_name": data["email_sender_name"],
            "email_reply_to": data["email_reply_to"],
            "widget_greeting": data["widget_greeting"],
            "widget_offline_message": data["widget_offline_message"],
            "show_powered_by": {"show": True, "hide": False}.get(data["show_powered_by"]),
            "logo": read_upload(data.get("logo")),
            "remove_logo": data["remove_logo"],
            "favicon": read_upload(data.get("favicon")),
            "remove_favicon": data["remove_favicon"],
        }


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    name = forms.CharField(label=_("Nome"), required=False, max_length=150)
    role = forms.ChoiceField(label=_("Papel"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        labels = dict(get_user_model().Role.choices)
        self.fields["role"].choices = [(role, labels[role]) for role in reversed(INVITABLE_ROLES)]


class DomainForm(forms.Form):
    host = forms.CharField(
        label=_("Domínio"),
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": "chat.suaempresa.com.br"}),
    )


class ClientForm(forms.Form):
    name = forms.CharField(label=_("Nome do cliente"), max_length=200)
    slug = forms.CharField(
        label=_("Identificador"), required=False, max_length=40, help_text=_("Opcional: derivado do nome; vira o subdomínio.")
    )
    plan = forms.ModelChoiceField(label=_("Plano"), queryset=Plan.objects.none(), to_field_name="code")
    owner_email = forms.EmailField(label=_("E-mail do responsável"), help_text=_("Recebe um link para criar a senha."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(is_public=True).order_by("sort_order", "code")


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Arquivo CSV"),
        help_text=_("Cabeçalho: name,plan,owner_email e, opcionalmente, slug. Codificação UTF-8."),
    )


class ClientFilterForm(forms.Form):
    q = forms.CharField(label=_("Buscar"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Situação"), required=False, choices=[("", _("Todas"))] + list(Organization.Status.choices)
    )
