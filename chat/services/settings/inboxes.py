"""Inboxes: the widget's origins, business hours, pre-chat form, identity and routing settings."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from chat.models import Inbox, Team
from chat.services.settings.common import UNSET, audit, collect, refuse, staff, text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The pre-chat questions an inbox may ask: name → (label, input type).
PRECHAT_FIELDS = {"name": ("Nome", "text"), "email": ("E-mail", "email"), "phone": ("Telefone", "tel")}
MAX_ORIGINS = 50
MAX_CAPACITY = 100
MAX_AUTO_RESOLVE = dt.timedelta(days=90)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


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
        raise refuse(
            "allowed_origins",
            _("Origem inválida: %(origins)s. Use http:// ou https:// seguido do domínio (e porta), sem caminho.")
            % {"origins": ", ".join(bad[:5])},
        )
    cleaned = list(dict.fromkeys(cleaned))
    if len(cleaned) > MAX_ORIGINS:
        raise refuse("allowed_origins", _("No máximo %(n)d origens.") % {"n": MAX_ORIGINS})
    return cleaned


def _business_hours(value: Mapping) -> dict:
    """{"mon": [["09:00", "18:00"]], ...}; days left out are closed; {} = always open."""
    hours: dict[str, list[list[str]]] = {}
    for day, spans in (value or {}).items():
        if day not in WEEKDAYS or not isinstance(spans, (list, tuple)):
            raise refuse("business_hours", _("Dia da semana inválido."))
        clean = []
        for span in spans:
            if not isinstance(span, (list, tuple)) or len(span) != 2:
                raise refuse("business_hours", _("Informe início e fim do horário."))
            start, end = (str(t) for t in span)
            if not _TIME.match(start) or not _TIME.match(end):
                raise refuse("business_hours", _("Use horários no formato HH:MM."))
            if start >= end:
                raise refuse("business_hours", _("O horário de início deve ser antes do fim."))
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
        raise refuse("time_zone", _("Fuso horário desconhecido: use um nome como America/Sao_Paulo.")) from None
    return value


def _prechat(values: Iterable[Mapping]) -> list[dict]:
    """[{"name": "email", "required": True}, ...] → the widget's field list, in a fixed order."""
    chosen: dict[str, bool] = {}
    for item in values:
        name = item.get("name")
        if name not in PRECHAT_FIELDS:
            raise refuse("prechat_fields", _("Campo de formulário pré-chat desconhecido."))
        chosen[name] = bool(item.get("required"))
    return [
        {"name": name, "label": label, "type": kind, "required": chosen[name]}
        for name, (label, kind) in PRECHAT_FIELDS.items()
        if name in chosen
    ]


def _inbox_values(values: dict) -> dict:
    """Validate whatever inbox fields were given (all of them, before anything is written)."""
    checks = {
        "name": lambda v: text(v, field="name", max_length=100),
        "greeting": lambda v: text(v, field="greeting", max_length=2000, required=False),
        "allowed_origins": _origins,
        "business_hours": _business_hours,
        "time_zone": _time_zone,
        "prechat_fields": _prechat,
        "require_identity": bool,
        "auto_assign": bool,
        "auto_assign_capacity": _capacity,
        "auto_assign_team": _team_or_none,
        "auto_resolve_after": _auto_resolve,
        "agents": lambda v: staff(v, "agents"),
    }
    return collect((key, value, checks[key]) for key, value in values.items())


def _capacity(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CAPACITY:
        raise refuse("auto_assign_capacity", _("Informe um número entre 1 e %(n)d.") % {"n": MAX_CAPACITY})
    return value


def _team_or_none(team: Team | None) -> Team | None:
    if team is not None and not Team.objects.filter(pk=team.pk).exists():
        raise refuse("auto_assign_team", _("Equipe não encontrada."))
    return team


def _auto_resolve(value: dt.timedelta | None) -> dt.timedelta | None:
    if value is None:
        return None
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0) or value > MAX_AUTO_RESOLVE:
        raise refuse("auto_resolve_after", _("Informe de 1 hora a 90 dias, ou deixe vazio para nunca."))
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
    audit("inbox.create", actor, inbox.name)
    return inbox


@transaction.atomic
def inbox_update(
    *,
    inbox: Inbox,
    name: str = UNSET,
    greeting: str = UNSET,
    allowed_origins: Sequence[str] = UNSET,
    business_hours: Mapping = UNSET,
    time_zone: str = UNSET,
    prechat_fields: Sequence[Mapping] = UNSET,
    require_identity: bool = UNSET,
    auto_assign: bool = UNSET,
    auto_assign_capacity: int = UNSET,
    auto_assign_team: Team | None = UNSET,
    auto_resolve_after: dt.timedelta | None = UNSET,
    agents: Iterable = UNSET,
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
    audit("inbox.update", actor, locked.name)
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
    audit("inbox.delete", actor, locked.name)
    locked.delete()
