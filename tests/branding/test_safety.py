"""Every sanitizer rule, with the attack strings it exists for."""

from __future__ import annotations

import struct

import pytest

from branding.safety import (
    FAVICON_MAX_BYTES,
    LOGO_MAX_BYTES,
    UnsafeInput,
    check_favicon,
    check_logo,
    sanitize_css,
    sanitize_svg,
    validate_color,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF" + struct.pack("<I", 30) + b"WEBPVP8 " + b"\x00" * 20
ICO = b"\x00\x00\x01\x00\x01\x00" + b"\x00" * 32
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#123456"/></svg>'

# --- CSS ------------------------------------------------------------------------------------

CSS_ATTACKS = {
    "import": '@import url("https://evil.example/x.css");',
    "import-string": '@import "https://evil.example/x.css";',
    "import-nested-in-media": '@media screen { @import "x.css"; }',
    "import-uppercase": '@IMPORT "x.css";',
    "namespace": "@namespace svg url(http://evil.example);",
    "charset": 'a { color: red } @charset "utf-8";',
    "unknown-at-rule": "@document url-prefix(http://x) { a { color: red } }",
    "remote-url": "a { background: url(https://evil.example/track.png) }",
    "protocol-relative-url": 'a { background: url("//evil.example/x.png") }',
    "relative-url-outside-brand": "a { background: url(/static/../../etc/passwd) }",
    "brand-path-traversal": "a { background: url(/brand/../admin/) }",
    "data-url": "a { background: url(data:image/svg+xml;base64,PHN2Zz4=) }",
    "image-set-remote": 'a { background-image: image-set("https://evil.example/x.png" 1x) }',
    "webkit-image-set-remote": 'a { background-image: -webkit-image-set("//evil/x.png" 1x) }',
    "font-face-remote": '@font-face { font-family: X; src: url("https://evil.example/f.woff") }',
    "expression": "a { width: expression(alert(1)) }",
    "expression-escaped": "a { width: exp\\72 ession(alert(1)) }",
    "expression-uppercase": "a { width: EXPRESSION(alert(1)) }",
    "javascript-url": "a { background: url(javascript:alert(1)) }",
    "javascript-quoted-url": 'a { background: url("javascript:alert(1)") }',
    "javascript-string": 'a { content: "javascript:alert(1)" }',
    "javascript-escaped": 'a { background: url("java\\73 cript:alert(1)") }',
    "vbscript": 'a { background: url("vbscript:msgbox(1)") }',
    "behavior": "a { behavior: url(/brand/x.htc) }",
    "behavior-escaped": "a { \\62 ehavior: url(/brand/x.htc) }",
    "ms-behavior": "a { -ms-behavior: url(/brand/x.htc) }",
    "moz-binding": "a { -moz-binding: url(/brand/x.xml#xss) }",
    "progid-filter": "a { filter: progid:DXImageTransform.Microsoft.Alpha(opacity=50) }",
    "style-breakout": "</style><script>alert(1)</script>",
    "style-breakout-after-rule": "a { color: red } </style><img src=x onerror=alert(1)>",
    "style-breakout-in-string": 'a { content: "</style><script>alert(1)</script>" }',
    "style-breakout-escaped": 'a { content: "\\3c/style>" }',
    "html-comment": "<!-- a { color: red } -->",
    "unbalanced-block": "a { color: red } }",
    "bad-string": 'a { content: "unterminated\n }',
    "nul-byte": "a { color: red }\x00",
    "too-big": "a { color: red }\n" * 4000,
}


@pytest.mark.parametrize("css", CSS_ATTACKS.values(), ids=CSS_ATTACKS.keys())
def test_css_attacks_are_refused_with_a_message(css):
    with pytest.raises(UnsafeInput) as refused:
        sanitize_css(css)
    assert str(refused.value).strip()


def test_css_that_is_safe_is_kept_and_reserialised_without_comments():
    css = """/* secret note */
    .topbar { background: var(--orbit-primary); border-bottom: 2px solid #ff0000 !important }
    .brand-logo { background: url(/brand/logo?v=abc123) no-repeat }
    @media (max-width: 600px) { .card { padding: 1rem } }
    @supports (display: grid) { .x { display: grid } }
    @keyframes pulse { from { opacity: 1 } to { opacity: .5 } }
    .card { & h1 { color: navy } }
    """
    out = sanitize_css(css)
    assert "secret note" not in out
    assert "border-bottom: 2px solid #ff0000 !important;" in out
    assert "url(/brand/logo?v=abc123)" in out
    assert "@media (max-width: 600px)" in out and "@keyframes pulse" in out
    assert "<" not in out
    assert sanitize_css(out) == out  # stable


def test_empty_css_is_empty():
    assert sanitize_css("   ") == ""


def test_css_error_names_the_line():
    with pytest.raises(UnsafeInput, match="linha 3"):
        sanitize_css("a { color: red }\nb { color: blue }\n@import 'x';")


# --- colours --------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [("#ABC", "#abc"), (" #1a2B3c ", "#1a2b3c")])
def test_colours_in_hex_are_accepted_and_lowercased(value, expected):
    assert validate_color(value) == expected


@pytest.mark.parametrize(
    "value",
    ["red", "#12345", "#1234567", "#ggg", "rgb(1,2,3)", "#fff; } body { display:none", "#fff</style>", "", "expression(1)"],
)
def test_anything_but_hex_colours_is_refused(value):
    with pytest.raises(UnsafeInput):
        validate_color(value)


# --- images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,content_type", [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (SVG, "image/svg+xml")]
)
def test_logo_type_comes_from_the_bytes(data, content_type):
    assert check_logo(data).content_type == content_type


def test_favicon_accepts_ico_and_logo_does_not():
    assert check_favicon(ICO).content_type == "image/x-icon"
    with pytest.raises(UnsafeInput, match="Formato"):
        check_logo(ICO)


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + b"\x00" * 20,  # a real image type, not on the list
        b"<html><script>alert(1)</script></html>",
        b"%PDF-1.7\n",
        b"MZ\x90\x00",  # an executable named logo.png
        b"\x89PNG\r\n\x1a\n" + b"<script>",  # PNG signature without an IHDR chunk
        b"just text",
    ],
)
def test_other_content_is_refused_whatever_its_name(data):
    with pytest.raises(UnsafeInput, match="Formato"):
        check_logo(data)


def test_sizes_are_limited():
    with pytest.raises(UnsafeInput, match="512 KB"):
        check_logo(PNG + b"\x00" * LOGO_MAX_BYTES)
    with pytest.raises(UnsafeInput, match="128 KB"):
        check_favicon(PNG + b"\x00" * FAVICON_MAX_BYTES)
    with pytest.raises(UnsafeInput):
        check_logo(b"")


SVG_ATTACK = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert('load')" width="10">
  <script>alert('script')</script>
  <script xlink:href="https://evil.example/x.js"/>
  <rect width="10" height="10" fill="#123456" onclick="alert('click')" onmouseover="x()"/>
  <a xlink:href="javascript:alert('link')"><text>hi</text></a>
  <a href="https://evil.example/"><text>out</text></a>
  <use href="#local"/>
  <use xlink:href="https://evil.example/sprite.svg#icon"/>
  <image href="https://evil.example/track.png"/>
  <image href="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+"/>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml"><iframe src="https://evil.example"/></div></foreignObject>
  <animate attributeName="href" to="javascript:alert('anim')"/>
  <set attributeName="onmouseover" to="alert(1)"/>
  <style>@import url(https://evil.example/x.css);</style>
  <rect style="fill: url(https://evil.example/x)"/>
  <html:script xmlns:html="http://www.w3.org/1999/xhtml">alert('ns')</html:script>
  <handler type="text/javascript">alert('handler')</handler>
</svg>"""


def test_svg_is_stripped_of_scripts_handlers_foreign_objects_and_external_references():
    out = sanitize_svg(SVG_ATTACK).decode()
    for needle in ("script", "alert", "onload", "onclick", "onmouseover", "evil.example", "foreignObject", "iframe",
                   "javascript", "data:", "animate", "<set", "<style", "handler", "@import"):
        assert needle.lower() not in out.lower(), needle
    assert 'fill="#123456"' in out and 'href="#local"' in out and "<text>hi</text>" in out
    assert check_logo(SVG_ATTACK).data == out.encode()


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
        b'<!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg">&b;</svg>',
        b"<svg xmlns='http://www.w3.org/2000/svg'><unclosed></svg>",
        b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'><script>alert(1)</script></html>",
    ],
    ids=["external-entity", "entity-expansion", "malformed", "not-svg"],
)
def test_svg_with_dtd_entities_or_not_svg_is_refused(data):
    with pytest.raises(UnsafeInput):
        check_logo(data)
