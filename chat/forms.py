"""Forms of chat's settings pages. They only parse; chat.services.settings validates and writes."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from chat import selectors
from chat.models import Inbox, Team
from chat.services.settings import PRECHAT_FIELDS, WEEKDAYS

WEEKDAY_LABELS = {
    "mon": _("Segunda"),
    "tue": _("Terça"),
    "wed": _("Quarta"),
    "thu": _("Quinta"),
    "fri": _("Sexta"),
    "sat": _("Sábado"),
    "sun": _("Domingo"),
}
PRECHAT_LABELS = {"name": _("Nome"), "email": _("E-mail"), "phone": _("Telefone")}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's ValidationError onto the form: per field where the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class PeopleField(forms.ModelMultipleChoiceField):
    """Tenant staff as checkboxes, shown as "Name (e-mail)"."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.email})" if obj.name else obj.email


def _staff_choices():
    return selectors.assignable_agents()


class InboxForm(forms.Form):
    name = forms.CharField(label=_("Nome"), max_length=100)
    greeting = forms.CharField(
        label=_("Saudação"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    allowed_origins = forms.CharField(
        label=_("Origens permitidas"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.exemplo.com.br"}),
        help_text=_("Uma por linha: os sites onde o widget pode aparecer (o endereço desta conta já é permitido)."),
    )
    time_zone = forms.CharField(label=_("Fuso horário"), max_length=64, initial="America/Sao_Paulo")
    require_identity = forms.BooleanField(label=_("Exigir verificação de identidade (HMAC)"), required=False)
    auto_assign = forms.BooleanField(label=_("Atribuição automática"), required=False)
    auto_assign_capacity = forms.IntegerField(label=_("Conversas por agente"), min_value=1, max_value=100, initial=5)
    auto_assign_team = forms.ModelChoiceField(
        label=_("Equipe"), queryset=Team.objects.none(), required=False, empty_label=_("— nenhuma (agentes abaixo) —")
    )
    auto_resolve_hours = forms.IntegerField(
        label=_("Resolver após inatividade (horas)"),
        required=False,
        min_value=1,
        max_value=2160,
        help_text=_("Vazio = nunca."),
    )
    agents = PeopleField(
        label=_("Agentes"),
        queryset=Team.objects.none(),
        required=False,
        help_text=_("Quem atende esta caixa quando não há equipe; ninguém marcado = todos os agentes."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["auto_assign_team"].queryset = selectors.team_list()
        self.fields["agents"].queryset = _staff_choices()
        for day in WEEKDAYS:
            self.fields[f"{day}_open"] = forms.BooleanField(label=WEEKDAY_LABELS[day], required=False)
            self.fields[f"{day}_start"] = forms.TimeField(
                label=_("Início"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
            )
            self.fields[f"{day}_end"] = forms.TimeField(
                label=_("Fim"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
            )
        for name in PRECHAT_FIELDS:
            self.fields[f"ask_{name}"] = forms.BooleanField(label=PRECHAT_LABELS[name], required=False)
            self.fields[f"require_{name}"] = forms.BooleanField(label=_("obrigatório"), required=False)

    def clean(self):
        data = super().clean()
        for day in WEEKDAYS:
            if data.get(f"{day}_open") and not (data.get(f"{day}_start") and data.get(f"{day}_end")):
                self.add_error(f"{day}_start", _("Informe início e fim para %(day)s.") % {"day": WEEKDAY_LABELS[day]})
        return data

    @property
    def weekdays(self):
        """(label, open, start, end) bound fields per weekday, for the template."""
        return [
            (WEEKDAY_LABELS[day], self[f"{day}_open"], self[f"{day}_start"], self[f"{day}_end"]) for day in WEEKDAYS
        ]

    @property
    def prechat(self):
        return [(self[f"ask_{name}"], self[f"require_{name}"]) for name in PRECHAT_FIELDS]

    @staticmethod
    def initial_from(inbox: Inbox) -> dict:
        initial = {
            "name": inbox.name,
            "greeting": inbox.greeting,
            "allowed_origins": "\n".join(o for o in inbox.allowed_origins if isinstance(o, str)),
            "time_zone": inbox.time_zone,
            "require_identity": inbox.require_identity,
            "auto_assign": inbox.auto_assign,
            "auto_assign_capacity": inbox.auto_assign_capacity,
            "auto_assign_team": inbox.auto_assign_team_id,
            "auto_resolve_hours": int(inbox.auto_resolve_after.total_seconds() // 3600)
            if inbox.auto_resolve_after
            else None,
            "agents": [user.pk for user in inbox.agents.all()],
        }
        for day, spans in (inbox.business_hours or {}).items():
            if day in WEEKDAYS and spans and isinstance(spans[0], (list, tuple)) and len(spans[0]) == 2:
                initial.update({f"{day}_open": True, f"{day}_start": spans[0][0], f"{day}_end": spans[0][1]})
        for field in inbox.prechat_fields or []:
            if isinstance(field, dict) and field.get("name") in PRECHAT_FIELDS:
                initial[f"ask_{field['name']}"] = True
                initial[f"require_{field['name']}"] = bool(field.get("required"))
        return initial

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        hours = data.get("auto_resolve_hours")
        return {
            "name": data["name"],
            "greeting": data["greeting"],
            "allowed_origins": [line for line in data["allowed_origins"].splitlines() if line.strip()],
            "time_zone": data["time_zone"],
            "business_hours": {
                day: [[data[f"{day}_start"].strftime("%H:%M"), data[f"{day}_end"].strftime("%H:%M")]]
                for day in WEEKDAYS
                if data.get(f"{day}_open")
            },
            "prechat_fields": [
                {"name": name, "required": data.get(f"require_{name}", False)}
                for name in PRECHAT_FIELDS
                if data.get(f"ask_{name}")
            ],
            "require_identity": data["require_identity"],
            "auto_assign": data["auto_assign"],
            "auto_assign_capacity": data["auto_assign_capacity"],
            "auto_assign_team": data["auto_assign_team"],
            "auto_resolve_after": dt.timedelta(hours=hours) if hours else None,
            "agents": list(data["agents"]),
        }


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Nome"), max_length=100)
    parent = forms.ModelChoiceField(
        label=_("Dentro de"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("— nenhuma (equipe principal) —"),
    )
    members = PeopleField(label=_("Membros"), queryset=Team.objects.none(), required=False)

    def __init__(self, *args, team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        parents = selectors.team_list()
        if team is not None:
            parents = parents.exclude(pk=team.pk)
        self.fields["parent"].queryset = parents
        self.fields["members"].queryset = _staff_choices()

    @staticmethod
    def initial_from(team: Team) -> dict:
        return {"name": team.name, "parent": team.parent_id, "members": [user.pk for user in team.members.all()]}


class LabelForm(forms.Form):
    name = forms.CharField(label=_("Nome"), max_length=50)
    colour = forms.CharField(
        label=_("Cor"), max_length=20, initial="#6b7280", widget=forms.TextInput(attrs={"type": "color"})
    )


class CannedResponseForm(forms.Form):
    shortcut = forms.CharField(
        label=_("Atalho"),
        max_length=51,
        help_text=_("Digite /atalho no compositor. Letras minúsculas, números, - e _."),
    )
    text = forms.CharField(label=_("Texto"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
