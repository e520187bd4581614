"""Reports for tenant admins: figures over a date range, an inline SVG chart, CSV export.

The figures come from chat.reports (one aggregate query each); this module only parses
the range and lays out the chart (presentation, so it lives with the view)."""

from __future__ import annotations

import csv
import datetime as dt
from functools import wraps

from django import forms
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django_tenants.utils import tenant_context

from chat import reports, selectors
from chat.views.access import admin_required

ANALYTICS = "analytics"


def analytics_required(view):
    """Reports are the plan's `analytics` feature: without it, a page that says so and
    where to change plans (the CSV export too)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not selectors.plan_has_feature(request.tenant, ANALYTICS):
            return render(request, "chat/reports/upgrade.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _date_input() -> forms.DateInput:
    # <input type=date> takes only ISO yyyy-mm-dd, whatever the language; a localized
    # value ("03/12/2025") shows as an empty mm/dd/yyyy.
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class RangeForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("De"), widget=_date_input())
    end = forms.DateField(label=gettext_lazy("Até"), widget=_date_input())

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("A data inicial deve ser anterior ou igual à final."))
            if (end - start).days + 1 > reports.MAX_DAYS:
                raise forms.ValidationError(_("Escolha um período de até %(days)s dias.") % {"days": reports.MAX_DAYS})
        return data


def _range(request) -> tuple[RangeForm, reports.Range | None]:
    """The range asked for, or the default (last 30 days) when none was; None if invalid."""
    default = reports.default_range()
    if "start" not in request.GET and "end" not in request.GET:
        return RangeForm(initial={"start": default.start, "end": default.end}), default
    form = RangeForm(request.GET)
    if not form.is_valid():
        return form, None
    return form, reports.Range(start=form.cleaned_data["start"], end=form.cleaned_data["end"])


# --- chart ----------------------------------------------------------------------------

CHART_W, CHART_H, PAD_L, PAD_B, PAD_T = 720, 220, 36, 24, 12


def _nice_max(value: int) -> int:
    for step in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return value


def bar_chart(points: list[tuple[dt.date, int]]) -> dict:
    """Bars, axis ticks and date labels in SVG coordinates (numbers: the template writes them
    unlocalized). A day without conversations gets no bar."""
    top = _nice_max(max((n for _, n in points), default=0) or 1)
    inner_w, inner_h = CHART_W - PAD_L - 4, CHART_H - PAD_B - PAD_T
    slot = inner_w / max(len(points), 1)
    bars = []
    for i, (day, n) in enumerate(points):
        if not n:
            continue
        h = inner_h * n / top
        bars.append(
            {
                "x": round(PAD_L + i * slot + slot * 0.1, 1),
                "y": round(PAD_T + inner_h - h, 1),
                "w": round(max(slot * 0.8, 1), 1),
                "h": round(h, 1),
                "n": n,
                "day": day,
            }
        )
    every = max(1, len(points) // 8)  # at most ~8 date labels
    labels = [
        {"x": round(PAD_L + i * slot + slot / 2, 1), "text": date_format(day, "SHORT_DATE_FORMAT")[:5]}
        for i, (day, _n) in enumerate(points)
        if i % every == 0
    ]
    # 0, the middle and the top, each drawn where its own value lies (a top of 5 has its middle at 2, not 2.5)
    ticks = [{"y": round(PAD_T + inner_h - inner_h * v / top, 1), "value": v} for v in sorted({0, top // 2, top})]
    return {
        "w": CHART_W,
        "h": CHART_H,
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
        "base_y": PAD_T + inner_h,
        "label_y": CHART_H - 6,
        "pad_l": PAD_L,
    }


# --- pages ----------------------------------------------------------------------------


@admin_required
@analytics_required
@require_GET
def index(request):
    form, period = _range(request)
    if period is None:
        return render(request, "chat/reports/index.html", {"form": form}, status=400)
    per_day = reports.conversations_per_day(period=period)
    context = {
        "form": form,
        "period": period,
        "summary": reports.summary(period=period),
        "per_day": per_day,
        "chart": bar_chart(per_day),
        "agents": reports.per_agent(period=period),
        "teams": reports.per_team(period=period),
        "export_query": f"start={period.start.isoformat()}&end={period.end.isoformat()}",
    }
    return render(request, "chat/reports/index.html", context)


class _Echo:
    """csv.writer's file: hand each line back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def _safe_cell(value: str) -> str:
    """Keep spreadsheets from running a visitor's name as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@admin_required
@analytics_required
@require_GET
def export(request):
    form, period = _range(request)
    if period is None:
        return render(request, "chat/reports/index.html", {"form": form}, status=400)
    writer = csv.writer(_Echo())
    tenant = request.tenant

    def lines():
        yield "\ufeff"  # Excel opens UTF-8 (accents in Portuguese names) only with a BOM
        yield writer.writerow(reports.CSV_COLUMNS)
        # The body is produced after the view (and the tenant middleware) returned, when the
        # connection is back on public: read inside the tenant's schema explicitly.
        with tenant_context(tenant):
            for row in reports.conversation_rows(period=period):
                yield writer.writerow([_safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="conversations-{period.start}-{period.end}.csv"'
    return response
