"""Numbers for people, in the active language: `1.234` / `12,5 %` / `R$ 1.234,56` in pt-BR,
`1,234` / `12.5%` / `R$1,234.56` in English; bytes as GB, seconds as minutes or hours.
Machine values (SVG, data attributes, CSV, JSON) never go through here."""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from billing import pricing

DASH = "—"
GB = 1024**3


def _pt() -> bool:
    return (get_language() or "pt-br").lower().startswith("pt")


def number(value, places: int = 0) -> str:
    if value is None or value == "":
        return DASH
    return formats.number_format(Decimal(str(value)), decimal_pos=places, use_l10n=True, force_grouping=True)


def percent(value, places: int = 1) -> str:
    """A ratio (0.125) as a percentage."""
    if value is None:
        return DASH
    text = number(Decimal(str(value)) * 100, places)
    return f"{text} %" if _pt() else f"{text}%"


def whole_percent(value) -> str:
    """A percentage already in % (82)."""
    if value is None:
        return DASH
    return f"{number(value)} %" if _pt() else f"{number(value)}%"


def money(value) -> str:
    return DASH if value is None else pricing.format_brl(value)


def unlimited() -> str:
    return _("ilimitado")


def gigabytes(value) -> str:
    if value is None:
        return unlimited()
    return f"{number(Decimal(value) / GB, 1)} GB"


def duration(seconds) -> str:
    if seconds is None:
        return DASH
    seconds = float(seconds)
    if seconds < 60:
        return _("%(n)s s") % {"n": number(seconds)}
    if seconds < 3600:
        return _("%(n)s min") % {"n": number(seconds / 60)}
    return _("%(n)s h") % {"n": number(seconds / 3600, 1)}
