"""Everything a tenant uploads or types for its brand is checked here before it is stored.

Each checker either returns the safe, normalised value or raises `UnsafeInput` with a
message written for the person who typed it (pt-BR source, translated)."""

from branding.safety.colors import validate_color
from branding.safety.css import MAX_CSS_BYTES, sanitize_css
from branding.safety.errors import UnsafeInput
from branding.safety.images import (
    FAVICON_MAX_BYTES,
    LOGO_MAX_BYTES,
    CheckedImage,
    check_favicon,
    check_logo,
    sanitize_svg,
)

__all__ = [
    "FAVICON_MAX_BYTES",
    "LOGO_MAX_BYTES",
    "MAX_CSS_BYTES",
    "CheckedImage",
    "UnsafeInput",
    "check_favicon",
    "check_logo",
    "sanitize_css",
    "sanitize_svg",
    "validate_color",
]
