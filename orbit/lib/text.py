"""What typed text may not contain before it is stored or put in a mail header.

PostgreSQL refuses NUL in text and UTF-8 cannot carry a lone surrogate (JSON's "\\ud800"
decodes to one): either would be a 500 at the database instead of a clear refusal. A
mail header must stay on one line: CR or LF in a sender name makes Django refuse the
whole message (BadHeaderError), and any control character there is at best garbage."""

from __future__ import annotations

import re
import unicodedata

# Line and paragraph separators that are not control characters (category Cc).
_SEPARATORS = frozenset("\u2028\u2029")
_SPACES = re.compile(r"\s+")


def unstorable(value: str) -> bool:
    """True if `value` holds NUL or a lone surrogate (nothing PostgreSQL can store)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _control(char: str) -> bool:
    return char in _SEPARATORS or unicodedata.category(char) in ("Cc", "Cs")


def header_unsafe(value: str) -> bool:
    """True if `value` may not go into a mail header as it is: a control character (CR, LF,
    NUL, tab …), a line separator or a lone surrogate."""
    return any(_control(char) for char in value)


def header_safe(value: str) -> str:
    """`value` on one line: every control character, separator and lone surrogate becomes a
    space, runs of spaces one, ends stripped. For values already stored (never raises)."""
    cleaned = "".join(" " if _control(char) else char for char in value or "")
    return _SPACES.sub(" ", cleaned).strip()


def json_unstorable(value, *, _depth: int = 0) -> bool:
    """True if any string (key or value) in a decoded JSON value is unstorable(); PostgreSQL's
    jsonb refuses \\u0000 and lone surrogates as text does. Past 200 levels: True."""
    if _depth > 200:
        return True
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        return any(unstorable(str(k)) or json_unstorable(v, _depth=_depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(json_unstorable(v, _depth=_depth + 1) for v in value)
    return False
