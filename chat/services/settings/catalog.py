"""Labels (unique names, #rrggbb colours) and canned responses (unique slug-like shortcuts)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from chat.models import CannedResponse, Label
from chat.services.settings.common import audit, unique_save
from chat.services.settings.common import text as clean_text

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def _label_values(instance: Label | None, name: str, colour: str) -> tuple[str, str]:
    errors: dict[str, list] = {}
    try:
        name = clean_text(name, field="name", max_length=50)
        taken = Label.objects.filter(name__iexact=name)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            errors["name"] = [_("Já existe uma etiqueta com esse nome.")]
    except ValidationError as error:
        errors.update(error.message_dict)
    colour = (colour or "").strip()
    if not _COLOUR.match(colour):
        errors["colour"] = [_("Use uma cor no formato #rrggbb, ex.: #1f6feb.")]
    if errors:
        raise ValidationError(errors)
    return name, colour.lower()


@transaction.atomic
def label_create(*, name: str, colour: str = "#6b7280", actor=None) -> Label:
    name, colour = _label_values(None, name, colour)
    label = unique_save(Label(name=name, colour=colour), "name", _("Já existe uma etiqueta com esse nome."))
    audit("label.create", actor, label.name)
    return label


@transaction.atomic
def label_update(*, label: Label, name: str, colour: str, actor=None) -> Label:
    label.name, label.colour = _label_values(label, name, colour)
    unique_save(label, "name", _("Já existe uma etiqueta com esse nome."))
    audit("label.update", actor, label.name)
    return label


@transaction.atomic
def label_delete(*, label: Label, actor=None) -> None:
    if Label.objects.filter(pk=label.pk).delete()[0]:
        audit("label.delete", actor, label.name)


def _canned_values(instance: CannedResponse | None, shortcut: str, text: str) -> tuple[str, str]:
    errors: dict[str, list] = {}
    shortcut = (shortcut or "").strip().lstrip("/").lower()
    if not _SHORTCUT.match(shortcut):
        errors["shortcut"] = [_("Use de 1 a 50 letras minúsculas, números, - ou _ (sem espaços nem acentos).")]
    else:
        taken = CannedResponse.objects.filter(shortcut=shortcut)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            errors["shortcut"] = [_("Já existe uma resposta pronta com esse atalho.")]
    try:
        text = clean_text(text, field="text", max_length=5000)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return shortcut, text


@transaction.atomic
def canned_response_create(*, shortcut: str, text: str, actor=None) -> CannedResponse:
    shortcut, text = _canned_values(None, shortcut, text)
    canned = unique_save(
        CannedResponse(shortcut=shortcut, text=text), "shortcut", _("Já existe uma resposta pronta com esse atalho.")
    )
    audit("canned_response.create", actor, canned.shortcut)
    return canned


@transaction.atomic
def canned_response_update(*, canned_response: CannedResponse, shortcut: str, text: str, actor=None) -> CannedResponse:
    canned_response.shortcut, canned_response.text = _canned_values(canned_response, shortcut, text)
    unique_save(canned_response, "shortcut", _("Já existe uma resposta pronta com esse atalho."))
    audit("canned_response.update", actor, canned_response.shortcut)
    return canned_response


@transaction.atomic
def canned_response_delete(*, canned_response: CannedResponse, actor=None) -> None:
    if CannedResponse.objects.filter(pk=canned_response.pk).delete()[0]:
        audit("canned_response.delete", actor, canned_response.shortcut)
