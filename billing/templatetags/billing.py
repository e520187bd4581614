from django import template

from billing import selectors

register = template.Library()


@register.simple_tag
def limit_alerts(organization):
    """The current period's limit alerts for the banner (billing.selectors.active_alerts)."""
    return selectors.active_alerts(organization)
