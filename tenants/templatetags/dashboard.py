"""The operator dashboard on the admin index: `{% operator_dashboard request as d %}` and
the filters that format numbers for people in the active language (tenants.dashboard.display)."""

from django import template

from tenants.dashboard import display
from tenants.dashboard.page import dashboard_for

register = template.Library()


@register.simple_tag
def operator_dashboard(request):
    return dashboard_for(period_key=request.GET.get("period"))


register.filter("num", display.number)
register.filter("pct", display.percent)
register.filter("pct100", display.whole_percent)
register.filter("money", display.money)
register.filter("gb", display.gigabytes)
register.filter("duration", display.duration)


@register.filter
def signed_money(value):
    """+R$ 10,00 / −R$ 10,00 for a movement (zero without a sign)."""
    if value is None:
        return display.DASH
    text = display.money(abs(value))
    return ("+" + text) if value > 0 else (("−" + text) if value < 0 else text)


@register.filter
def get(mapping, key):
    return (mapping or {}).get(key, 0)


@register.filter
def num_1(value):
    return display.number(value, 1)


@register.filter
def per_day(figures, name):
    """The period's daily average of a PlatformDay column, for people."""
    return display.number(figures.per_day(name), 1)


@register.filter
def metric_value(value, metric):
    """A usage or limit for people: GB for storage, a grouped number otherwise; None = unlimited."""
    if value is None:
        return display.unlimited()
    if metric == "storage_bytes":
        return display.gigabytes(value)
    return display.number(value)


@register.filter
def detail_text(detail):
    """An audit entry's details as "key: value · key: value" (never raw JSON)."""
    if not isinstance(detail, dict):
        return "" if detail in (None, "") else str(detail)
    return " · ".join(f"{key}: {value}" for key, value in detail.items() if value not in (None, "", [], {}))
