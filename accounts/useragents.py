"""A browser in a few words, for people reading sessions and the audit log."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

_BROWSERS = (
    (r"Edg/", "Edge"), (r"OPR/|Opera", "Opera"), (r"Firefox/", "Firefox"), (r"Chrom(e|ium)/", "Chrome"),
    (r"Version/[\d.]+.*Safari/", "Safari"), (r"curl/", "curl"), (r"python", "Python"),
)
_SYSTEMS = (
    (r"iPhone|iPad", "iOS"), (r"Android", "Android"), (r"Windows", "Windows"), (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"), (r"Linux", "Linux"),
)


def describe_user_agent(ua: str) -> str:
    """"Chrome · Linux" out of a User-Agent, or a plain "unknown browser"."""
    if not ua:
        return _("Navegador desconhecido")
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, ua)), "")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, ua)), "")
    return " · ".join(part for part in (browser, system) if part) or ua[:60]
