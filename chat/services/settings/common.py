"""What the chat settings services share: refusals, audit entries, text and people checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.services import audit_record

STAFF_ROLES = ("owner", "admin", "agent")
UNSET: Any = object()  # "leave this field as it is" in the *_update services


def audit(action: str, actor, target: str) -> None:
    """Every change lands in the tenant's audit log (a partner's support identity included)."""
    audit_record(action=f"chat.{action}", actor=actor, target=target)


def refuse(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def collect(checks) -> dict:
    """Run (key, value, check) for every value given; all refusals together, or the clean values."""
    clean: dict[str, Any] = {}
    errors: dict[str, list] = {}
    for key, value, check in checks:
        if value is UNSET:
            continue
        try:
            clean[key] = check(value)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return clean


def staff(people: Iterable, field: str) -> list:
    people = list(people)
    ids = {person.pk for person in people}
    valid = set(
        get_user_model().objects.filter(pk__in=ids, is_active=True, role__in=STAFF_ROLES).values_list("pk", flat=True)
    )
    if ids - valid:
        raise refuse(field, _("Escolha apenas agentes ou administradores ativos desta conta."))
    return people


def text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise refuse(field, _("Este campo é obrigatório."))
    if len(value) > max_length:
        raise refuse(field, _("No máximo %(n)d caracteres.") % {"n": max_length})
    return value


def unique_save(instance, field: str, message: str):
    """Save; a unique violation that raced past the check becomes the same form error."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise refuse(field, message) from None
    return instance
