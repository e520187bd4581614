"""The slug an organization gets from its name (services and the CSV import share it)."""

from __future__ import annotations

from django.utils.text import slugify


def slug_from_name(name: str) -> str:
    """The slug an organization gets when none is given."""
    return slugify(name.strip())[:40].strip("-").lower()
