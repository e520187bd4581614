import re

from django.utils.translation import gettext as _

from branding.safety.errors import UnsafeInput

COLOR_PATTERN = re.compile(r"^#(?:[0-9a-f]{3}|[0-9a-f]{6})$")


def validate_color(value: str) -> str:
    """`#rgb` or `#rrggbb`, returned lowercase. Nothing else ever reaches a style attribute."""
    color = (value or "").strip().lower()
    if not COLOR_PATTERN.match(color):
        raise UnsafeInput(_("Use uma cor no formato #rgb ou #rrggbb, por exemplo #2f5bea."))
    return color
