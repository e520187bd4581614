"""Inline SVG charts, drawn on the server (no script, no CDN).

Coordinates and data attributes are machine values: formatted here with Python's own
formatting (always a decimal point), never through the language's number format. What
people read (the tooltips, the axis labels) is formatted for the active language by the
caller's `label` function."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal

from django.utils import formats
from django.utils.dates import MONTHS_3
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 180
LEFT = 8
TOP = 18
BOTTOM = 22
MAX_POINTS = 62  # a longer series is drawn one point per week (its last day)


def n(value: float) -> str:
    """A coordinate: at most one decimal, a point, no grouping (never localized)."""
    text = f"{float(value):.1f}"
    return text[:-2] if text.endswith(".0") else text


def short_day(day: dt.date) -> str:
    return formats.date_format(day, "j M")


def _day_labels(days: Sequence[dt.date]) -> list[str]:
    """"5 jan" / "5 Jan" for each day, the month names translated once per chart."""
    months = {m: str(MONTHS_3[m]).capitalize() if not _pt() else str(MONTHS_3[m]) for m in range(1, 13)}
    return [f"{d.day} {months[d.month]}" for d in days]


def _pt() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "pt-br").lower().startswith("pt")


def weekly(series: Sequence[tuple[dt.date, object]]) -> list[tuple[dt.date, object]]:
    """At most MAX_POINTS points: beyond that, each week's last day."""
    if len(series) <= MAX_POINTS:
        return list(series)
    picked = series[::-7][::-1]
    return list(picked)


def _frame(title: str, body: SafeString, *, css: str) -> SafeString:
    return format_html(
        '<svg class="chart {}" viewBox="0 0 {} {}" width="100%" role="img" '
        'aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}</svg>',
        css, WIDTH, HEIGHT, title, title, body,
    )


def _axis(top_label: str, days: Sequence[dt.date]) -> SafeString:
    base = HEIGHT - BOTTOM
    parts = [
        format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>', LEFT, n(base), WIDTH, n(base)),
        format_html('<text class="top" x="{}" y="{}">{}</text>', LEFT, 12, top_label),
    ]
    if days:
        picks = sorted({0, len(days) // 2, len(days) - 1})
        step = (WIDTH - LEFT) / len(days)
        for i in picks:
            x = LEFT + step * i + step / 2
            anchor = "start" if i == 0 else ("end" if i == len(days) - 1 else "middle")
            parts.append(format_html('<text class="day" x="{}" y="{}" text-anchor="{}">{}</text>', n(x),
                                     n(HEIGHT - 6), anchor, short_day(days[i])))
    return mark_safe("".join(parts))


def bars(series: Sequence[tuple[dt.date, int | Decimal]], *, title: str, label: Callable[[object], str],
         css: str = "bars") -> SafeString:
    """One bar per day; each bar's tooltip says the day and the value (for people)."""
    days = [d for d, _v in series]
    peak = max((float(v) for _d, v in series), default=0.0) or 1.0
    step = (WIDTH - LEFT) / max(1, len(series))
    width = max(1.0, step * 0.72)
    base = HEIGHT - BOTTOM
    usable = base - TOP
    names = _day_labels(days)
    rects = "".join(
        f'<rect x="{n(LEFT + step * i + (step - width) / 2)}" y="{n(base - usable * float(v) / peak)}" '
        f'width="{n(width)}" height="{n(usable * float(v) / peak)}" data-day="{d.isoformat()}" '
        f'data-value="{escape(str(v))}"><title>{escape(names[i])}: {escape(label(v))}</title></rect>'
        for i, (d, v) in enumerate(series))
    top = label(max((v for _d, v in series), default=0))
    return _frame(title, mark_safe(_axis(top, days) + rects), css=css)


def line(series: Sequence[tuple[dt.date, int | Decimal]], *, title: str, label: Callable[[object], str],
         css: str = "line") -> SafeString:
    """A line through the days' values, with a dot (and its tooltip) per day (per week for a
    long series)."""
    series = weekly(series)
    days = [d for d, _v in series]
    values = [float(v) for _d, v in series]
    peak = max(values, default=0.0) or 1.0
    step = (WIDTH - LEFT) / max(1, len(series))
    base = HEIGHT - BOTTOM
    usable = base - TOP
    points = [(LEFT + step * i + step / 2, base - usable * v / peak) for i, v in enumerate(values)]
    path = " ".join(f"{n(x)},{n(y)}" for x, y in points)
    names = _day_labels(days)
    dots = "".join(
        f'<circle cx="{n(x)}" cy="{n(y)}" r="3" data-day="{d.isoformat()}" data-value="{escape(str(v))}">'
        f'<title>{escape(names[i])}: {escape(label(v))}</title></circle>'
        for i, ((x, y), (d, v)) in enumerate(zip(points, series, strict=True)))
    body = format_html('<polyline points="{}" fill="none"/>', path) if len(points) > 1 else mark_safe("")
    top = label(max((v for _d, v in series), default=0))
    return _frame(title, mark_safe(_axis(top, days) + body + dots), css=css)
