"""`{% settings_nav_extra %}`: the settings tabs other apps contribute, without tenants
importing them. An app adds its tabs by shipping `<app label>/settings_nav.html`
(e.g. templates/chat/settings_nav.html for Teams, Inboxes and the widget snippet)."""

from django import template
from django.apps import apps
from django.template.loader import get_template
from django.utils.safestring import mark_safe

register = template.Library()

OWN_APPS = {"tenants"}


@register.simple_tag(takes_context=True)
def settings_nav_extra(context):
    parts = []
    for config in apps.get_app_configs():
        if config.label in OWN_APPS:
            continue
        try:
            tab = get_template(f"{config.label}/settings_nav.html")
        except template.TemplateDoesNotExist:
            continue
        parts.append(tab.render(context.flatten(), context.get("request")))
    return mark_safe("".join(parts))
