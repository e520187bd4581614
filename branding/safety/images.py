"""Logos and favicons: the type comes from the bytes (magic numbers), never from the name
or the browser's Content-Type. SVG is parsed (defusedxml: no DTD, entities or external
references), stripped of everything active and re-serialised."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.utils.translation import gettext as _

from branding.safety.errors import UnsafeInput

LOGO_MAX_BYTES = 512 * 1024
FAVICON_MAX_BYTES = 128 * 1024

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Elements dropped with everything inside them.
DROPPED_ELEMENTS = {
    "script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "style",
    "animate", "set", "animatemotion", "animatetransform", "discard", "audio", "video", "canvas",
}
_ACTIVE_VALUE = re.compile(r"(javascript|vbscript|livescript|data)\s*:|expression\s*\(|@import", re.IGNORECASE)
_REMOTE_URL_IN_STYLE = re.compile(r"url\s*\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f]+")

ElementTree.register_namespace("", SVG_NS)
ElementTree.register_namespace("xlink", XLINK_NS)


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    content_type: str
    extension: str


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _sep, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _safe_attribute(name: str, value: str) -> bool:
    namespace, local = _split(name)
    local = local.lower()
    folded = _INVISIBLE.sub("", value)
    if local.startswith("on"):  # event handlers: onload, onclick, onbegin…
        return False
    if namespace not in ("", XLINK_NS):  # xml:base, foreign attributes
        return False
    if local == "href" or namespace == XLINK_NS:
        return folded.startswith("#") and not _ACTIVE_VALUE.search(folded)
    if _ACTIVE_VALUE.search(folded):
        return False
    if local == "style" or "url(" in folded.lower():
        return not _REMOTE_URL_IN_STYLE.search(value)
    return True


def _clean(element) -> None:
    for child in list(element):
        if not isinstance(child.tag, str):  # comments, processing instructions
            element.remove(child)
            continue
        namespace, local = _split(child.tag)
        if namespace != SVG_NS or local.lower() in DROPPED_ELEMENTS:
            element.remove(child)
            continue
        _clean(child)
    for name, value in list(element.attrib.items()):
        if not _safe_attribute(name, value):
            del element.attrib[name]


def sanitize_svg(data: bytes) -> bytes:
    """The SVG without scripts, event handlers, foreignObject, animation or external
    references, or UnsafeInput if it is not a well-formed SVG document."""
    try:
        root = safe_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ElementTree.ParseError, ValueError):
        raise UnsafeInput(_("O SVG não é um documento XML válido ou usa recursos não permitidos (DTD, entidades).")) from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise UnsafeInput(_("O arquivo não é um SVG."))
    _clean(root)
    for name, value in list(root.attrib.items()):
        if not _safe_attribute(name, value):
            del root.attrib[name]
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)


def _looks_like_svg(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf").lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--"))


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    if data[:4] == b"\x00\x00\x01\x00" and len(data) >= 6 and struct.unpack("<H", data[4:6])[0] > 0:
        return "image/x-icon", "ico"
    if _looks_like_svg(data):
        return "image/svg+xml", "svg"
    return None


def _check(data: bytes, *, max_bytes: int, allowed: set[str], label: str) -> CheckedImage:
    if not data:
        raise UnsafeInput(_("O arquivo está vazio."))
    if len(data) > max_bytes:
        raise UnsafeInput(
            _("%(label)s pode ter no máximo %(size)s KB; este arquivo tem %(actual)s KB.")
            % {"label": label, "size": max_bytes // 1024, "actual": -(-len(data) // 1024)}
        )
    found = sniff(data)
    if found is None or found[1] not in allowed:
        names = ", ".join(sorted(ext.upper() for ext in allowed))
        raise UnsafeInput(_("Formato não aceito. Envie um arquivo %(formats)s.") % {"formats": names})
    content_type, extension = found
    if extension == "svg":
        data = sanitize_svg(data)
    return CheckedImage(data=data, content_type=content_type, extension=extension)


def check_logo(data: bytes) -> CheckedImage:
    return _check(data, max_bytes=LOGO_MAX_BYTES, allowed={"png", "jpg", "webp", "svg"}, label=_("O logotipo"))


def check_favicon(data: bytes) -> CheckedImage:
    return _check(data, max_bytes=FAVICON_MAX_BYTES, allowed={"png", "jpg", "webp", "ico", "svg"}, label=_("O favicon"))
