"""Chat settings writers for tenant admins: inboxes, teams, labels and canned responses.

Every function validates everything before it writes and runs in one transaction, so bad
input raises `django.core.exceptions.ValidationError` (field → pt-BR messages) with nothing
half-written. They run in the connection's current (tenant) schema."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.services import audit_record
from chat.models import CannedResponse, Inbox, Label, Team

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The pre-chat questions an inbox may ask: name → (label, input type).
PRECHAT_FIELDS = {"name": ("Nome", "text"), "email": ("E-mail", "email"), "phone": ("Telefone", "tel")}
STAFF_ROLES = ("owner", "admin", "agent")
MAX_ORIGINS = 50
MAX_CAPACITY = 100
MAX_AUTO_RESOLVE = dt.timedelta(days=90)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_UNSET: Any = object()


def _audit(action: str, actor, target: str) -> None:
    """Every change lands in the tenant's audit log (a partner's support identity included)."""
    audit_record(action=f"chat.{action}", actor=actor, target=target)


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


# --- validation helpers ---------------------------------------------------------------


def clean_origin(value: str) -> str:
    """`https://www.exemplo.com.br[:port]`, normalised (lower case, no trailing slash); else ValueError."""
    value = value.strip().rstrip("/")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(value) from None
    host = (parts.hostname or "").lower()
    try:  # browsers send IDN hosts in punycode
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        raise ValueError(value) from None
    if (
        parts.scheme.lower() not in ("http", "https")
        or not host
        or parts.username is not None
        or parts.password is not None
        or parts.path
        or parts.query
        or parts.fragment
        or "?" in value
        or "#" in value
        or not _HOST.match(host)
    ):
        raise ValueError(value)
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def _origins(values: Iterable[str]) -> list[str]:
    cleaned, bad = [], []
    for value in values:
        if not str(value).strip():
            continue
        try:
            cleaned.append(clean_origin(str(value)))
        except ValueError:
            bad.append(str(value).strip())
    if bad:
        raise _refuse(
            "allowed_origins",
            _("Origem inválida: %(origins)s. Use http:// ou https:// seguido do domínio (e porta), sem caminho.")
            % {"origins": ", ".join(bad[:5])},
        )
    cleaned = list(dict.fromkeys(cleaned))
    if len(cleaned) > MAX_ORIGINS:
        raise _refuse("allowed_origins", _("No máximo %(n)d origens.") % {"n": MAX_ORIGINS})
    return cleaned


def _business_hours(value: Mapping) -> dict:
    """{"mon": [["09:00", "18:00"]], ...}; days left out are closed; {} = always open."""
    hours: dict[str, list[list[str]]] = {}
    for day, spans in (value or {}).items():
        if day not in WEEKDAYS or not isinstance(spans, (list, tuple)):
            raise _refuse("business_hours", _("Dia da semana inválido."))
        clean = []
        for span in spans:
            if not isinstance(span, (list, tuple)) or len(span) != 2:
                raise _refuse("business_hours", _("Informe início e fim do horário."))
            start, end = (str(t) for t in span)
            if not _TIME.match(start) or not _TIME.match(end):
                raise _refuse("business_hours", _("Use horários no formato HH:MM."))
            if start >= end:
                raise _refuse("business_hours", _("O horário de início deve ser antes do fim."))
            clean.append([start, end])
        if clean:
            hours[day] = sorted(clean)
    return {day: hours[day] for day in WEEKDAYS if day in hours}


def _time_zone(value: str) -> str:
    value = (value or "").strip()
    try:
        if not value or "/" not in value and value != "UTC":
            raise ValueError
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _refuse("time_zone", _("Fuso horário desconhecido: use um nome como America/Sao_Paulo.")) from None
    return value


def _prechat(values: Iterable[Mapping]) -> list[dict]:
    """[{"name": "email", "required": True}, ...] → the widget's field list, in a fixed order."""
    chosen: dict[str, bool] = {}
    for item in values:
        name = item.get("name")
        if name not in PRECHAT_FIELDS:
            raise _refuse("prechat_fields", _("Campo de formulário pré-chat desconhecido."))
        chosen[name] = bool(item.get("required"))
    return [
        {"name": name, "label": label, "type": kind, "required": chosen[name]}
        for name, (label, kind) in PRECHAT_FIELDS.items()
        if name in chosen
    ]


def _staff(people: Iterable, field: str) -> list:
    people = list(people)
    ids = {person.pk for person in people}
    valid = set(
        get_user_model().objects.filter(pk__in=ids, is_active=True, role__in=STAFF_ROLES).values_list("pk", flat=True)
    )
    if ids - valid:
        raise _refuse(field, _("Escolha apenas agentes ou administradores ativos desta conta."))
    return people


def _text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _refuse(field, _("Este campo é obrigatório."))
    if len(value) > max_length:
        raise _refuse(field, _("No máximo %(n)d caracteres.") % {"n": max_length})
    return value


# --- inboxes --------------------------------------------------------------------------


def _inbox_values(values: dict) -> dict:
    """Validate whatever inbox fields were given (all of them, before anything is written)."""
    clean: dict[str, Any] = {}
    errors: dict[str, list] = {}
    checks = {
        "name": lambda v: _text(v, field="name", max_length=100),
        "greeting": lambda v: _text(v, field="greeting", max_length=2000, required=False),
        "allowed_origins": _origins,
        "business_hours": _business_hours,
        "time_zone": _time_zone,
        "prechat_fields": _prechat,
        "require_identity": bool,
        "auto_assign": bool,
        "auto_assign_capacity": _capacity,
        "auto_assign_team": _team_or_none,
        "auto_resolve_after": _auto_resolve,
        "agents": lambda v: _staff(v, "agents"),
    }
    for key, value in values.items():
        if value is _UNSET:
            continue
        try:
            clean[key] = checks[key](value)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return clean


def _capacity(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CAPACITY:
        raise _refuse("auto_assign_capacity", _("Informe um número entre 1 e %(n)d.") % {"n": MAX_CAPACITY})
    return value


def _team_or_none(team: Team | None) -> Team | None:
    if team is not None and not Team.objects.filter(pk=team.pk).exists():
        raise _refuse("auto_assign_team", _("Equipe não encontrada."))
    return team


def _auto_resolve(value: dt.timedelta | None) -> dt.timedelta | None:
    if value is None:
        return None
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0) or value > MAX_AUTO_RESOLVE:
        raise _refuse("auto_resolve_after", _("Informe de 1 hora a 90 dias, ou deixe vazio para nunca."))
    return value


def _inbox_write(inbox: Inbox, values: dict) -> Inbox:
    agents = values.pop("agents", None)
    for key, value in values.items():
        setattr(inbox, key, value)
    inbox.save()
    if agents is not None:
        inbox.agents.set(agents)
    return inbox


@transaction.atomic
def inbox_create(
    *,
    name: str,
    greeting: str = "",
    allowed_origins: Sequence[str] = (),
    business_hours: Mapping | None = None,
    time_zone: str = "America/Sao_Paulo",
    prechat_fields: Sequence[Mapping] = (),
    require_identity: bool = False,
    auto_assign: bool = True,
    auto_assign_capacity: int = 5,
    auto_assign_team: Team | None = None,
    auto_resolve_after: dt.timedelta | None = None,
    agents: Iterable = (),
    actor=None,
) -> Inbox:
    values = _inbox_values(
        {
            "name": name,
            "greeting": greeting,
            "allowed_origins": allowed_origins,
            "business_hours": business_hours or {},
            "time_zone": time_zone,
            "prechat_fields": prechat_fields,
            "require_identity": require_identity,
            "auto_assign": auto_assign,
            "auto_assign_capacity": auto_assign_capacity,
            "auto_assign_team": auto_assign_team,
            "auto_resolve_after": auto_resolve_after,
            "agents": agents,
        }
    )
    inbox = _inbox_write(Inbox(), values)
    _audit("inbox.create", actor, inbox.name)
    return inbox


@transaction.atomic
def inbox_update(
    *,
    inbox: Inbox,
    name: str = _UNSET,
    greeting: str = _UNSET,
    allowed_origins: Sequence[str] = _UNSET,
    business_hours: Mapping = _UNSET,
    time_zone: str = _UNSET,
    prechat_fields: Sequence[Mapping] = _UNSET,
    require_identity: bool = _UNSET,
    auto_assign: bool = _UNSET,
    auto_assign_capacity: int = _UNSET,
    auto_assign_team: Team | None = _UNSET,
    auto_resolve_after: dt.timedelta | None = _UNSET,
    agents: Iterable = _UNSET,
    actor=None,
) -> Inbox:
    """Change the given fields only; the rest stay as they are."""
    values = _inbox_values(
        {
            "name": name,
            "greeting": greeting,
            "allowed_origins": allowed_origins,
            "business_hours": business_hours,
            "time_zone": time_zone,
            "prechat_fields": prechat_fields,
            "require_identity": require_identity,
            "auto_assign": auto_assign,
            "auto_assign_capacity": auto_assign_capacity,
            "auto_assign_team": auto_assign_team,
            "auto_resolve_after": auto_resolve_after,
            "agents": agents,
        }
    )
    locked = Inbox.objects.select_for_update().get(pk=inbox.pk)
    _inbox_write(locked, values)
    _audit("inbox.update", actor, locked.name)
    inbox.refresh_from_db()
    return inbox


@transaction.atomic
def inbox_delete(*, inbox: Inbox, actor=None) -> None:
    """Only an inbox that never had a conversation: history is never deleted by accident.

    The row lock conflicts with the key-share lock a new conversation's insert takes, so none
    can slip in between the check and the delete."""
    locked = Inbox.objects.select_for_update().filter(pk=inbox.pk).first()
    if locked is None:
        return
    if locked.conversations.exists():
        raise ValidationError(_("Esta caixa de entrada tem conversas e não pode ser excluída."))
    _audit("inbox.delete", actor, locked.name)
    locked.delete()


# --- teams ----------------------------------------------------------------------------


def _parent(team: Team | None, parent: Team | None) -> Team | None:
    """The parent, unless it would make a cycle (the team itself or one of its descendants)."""
    if parent is None:
        return None
    parents = dict(Team.objects.select_for_update().values_list("pk", "parent_id"))
    if parent.pk not in parents:
        raise _refuse("parent", _("Equipe pai não encontrada."))
    cursor, seen = parent.pk, set()
    while cursor is not None and cursor not in seen:
        if team is not None and cursor == team.pk:
            raise _refuse("parent", _("Uma equipe não pode ficar dentro dela mesma nem de uma subequipe sua."))
        seen.add(cursor)
        cursor = parents.get(cursor)
    return parent


@transaction.atomic
def team_create(*, name: str, parent: Team | None = None, members: Iterable = (), actor=None) -> Team:
    name = _text(name, field="name", max_length=100)
    parent = _parent(None, parent)
    members = _staff(members, "members")
    team = Team.objects.create(name=name, parent=parent)
    team.members.set(members)
    _audit("team.create", actor, team.name)
    return team


@transaction.atomic
def team_update(
    *, team: Team, name: str = _UNSET, parent: Team | None = _UNSET, members: Iterable = _UNSET, actor=None
) -> Team:
    locked = Team.objects.select_for_update().get(pk=team.pk)
    errors: dict[str, list] = {}
    clean: dict[str, Any] = {}
    for key, value, check in (
        ("name", name, lambda v: _text(v, field="name", max_length=100)),
        ("parent", parent, lambda v: _parent(locked, v)),
        ("members", members, lambda v: _staff(v, "members")),
    ):
        if value is _UNSET:
            continue
        try:
            clean[key] = check(value)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    new_members = clean.pop("members", None)
    for key, value in clean.items():
        setattr(locked, key, value)
    locked.save()
    if new_members is not None:
        locked.members.set(new_members)
    _audit("team.update", actor, locked.name)
    team.refresh_from_db()
    return team


@transaction.atomic
def team_delete(*, team: Team, actor=None) -> None:
    """Subteams move up to this team's parent; conversations and inboxes just lose the team."""
    locked = Team.objects.select_for_update().filter(pk=team.pk).first()
    if locked is None:
        return
    Team.objects.filter(parent=locked).update(parent=locked.parent_id)
    _audit("team.delete", actor, locked.name)
    locked.delete()


# --- labels ---------------------------------------------------------------------------


def _label_values(instance: Label | None, name: str, colour: str) -> tuple[str, str]:
    errors: dict[str, list] = {}
    try:
        name = _text(name, field="name", max_length=50)
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


def _unique_save(instance, field: str, message: str):
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise _refuse(field, message) from None
    return instance


@transaction.atomic
def label_create(*, name: str, colour: str = "#6b7280", actor=None) -> Label:
    name, colour = _label_values(None, name, colour)
    label = _unique_save(Label(name=name, colour=colour), "name", _("Já existe uma etiqueta com esse nome."))
    _audit("label.create", actor, label.name)
    return label


@transaction.atomic
def label_update(*, label: Label, name: str, colour: str, actor=None) -> Label:
    label.name, label.colour = _label_values(label, name, colour)
    _unique_save(label, "name", _("Já existe uma etiqueta com esse nome."))
    _audit("label.update", actor, label.name)
    return label


@transaction.atomic
def label_delete(*, label: Label, actor=None) -> None:
    if Label.objects.filter(pk=label.pk).delete()[0]:
        _audit("label.delete", actor, label.name)


# --- canned responses -----------------------------------------------------------------


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
        text = _text(text, field="text", max_length=5000)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return shortcut, text


@transaction.atomic
def canned_response_create(*, shortcut: str, text: str, actor=None) -> CannedResponse:
    shortcut, text = _canned_values(None, shortcut, text)
    canned = _unique_save(
        CannedResponse(shortcut=shortcut, text=text), "shortcut", _("Já existe uma resposta pronta com esse atalho.")
    )
    _audit("canned_response.create", actor, canned.shortcut)
    return canned


@transaction.atomic
def canned_response_update(*, canned_response: CannedResponse, shortcut: str, text: str, actor=None) -> CannedResponse:
    canned_response.shortcut, canned_response.text = _canned_values(canned_response, shortcut, text)
    _unique_save(canned_response, "shortcut", _("Já existe uma resposta pronta com esse atalho."))
    _audit("canned_response.update", actor, canned_response.shortcut)
    return canned_response


@transaction.atomic
def canned_response_delete(*, canned_response: CannedResponse, actor=None) -> None:
    if CannedResponse.objects.filter(pk=canned_response.pk).delete()[0]:
        _audit("canned_response.delete", actor, canned_response.shortcut)
