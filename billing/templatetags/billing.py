from django import template

from billing import pricing, selectors

register = template.Library()


@register.simple_tag
def limit_alerts(organization):
    """The current period's limit alerts for the banner (billing.selectors.active_alerts)."""
    return selectors.active_alerts(organization)


@register.filter
def brl(amount) -> str:
    """`{{ invoice.total|brl }}` → R$ 1.234,56 (pt-BR) / R$1,234.56 (English)."""
    if amount is None or amount == "":
        return "—"
    return pricing.format_brl(amount)
