"""Custom CSS, parsed with a real CSS parser (tinycss2) and re-serialised from the tree.

Refused, with the line and column in the message:
* `@import`, `@namespace`, `@charset`, `@document` and every at-rule not on the allow-list;
* `url()` (and `src()`, `image-set()`…) pointing anywhere but the tenant's own `/brand/…`;
* `expression()`, `javascript:` / `vbscript:` and `data:` anywhere, even escaped;
* `behavior`, `-moz-binding` and old IE `filter: progid:…`;
* any `<` in the output, so the text can never close a `<style>` element;
* parse errors (unbalanced blocks, bad strings), more than MAX_CSS_BYTES, deep nesting.

Comments are dropped; what is stored is the re-serialised tree, never the raw text."""

from __future__ import annotations

import re

import tinycss2
from django.utils.translation import gettext as _

from branding.safety.errors import UnsafeInput

MAX_CSS_BYTES = 50 * 1024
MAX_DEPTH = 8
# At-rules whose blocks hold rules (checked recursively) or declarations (@font-face, @page).
RULE_BLOCK_AT_RULES = {"media", "supports", "layer", "container", "keyframes", "-webkit-keyframes"}
DECLARATION_AT_RULES = {"font-face", "page"}
FORBIDDEN_PROPERTIES = {"behavior", "-ms-behavior", "-moz-binding", "binding"}
# Functions whose string arguments are URLs.
URL_FUNCTIONS = {"url", "src", "image", "image-set", "-webkit-image-set", "cross-fade", "-webkit-cross-fade"}
FORBIDDEN_WORDS = ("javascript:", "vbscript:", "livescript:", "data:", "expression(", "progid:")
SAFE_URL = re.compile(r"^/brand/[a-z0-9._-]+(?:\?[a-z0-9=&._-]*)?$", re.IGNORECASE)
_INVISIBLE = re.compile(r"[\s\x00-\x1f\x7f]+")


def _where(node) -> str:
    line = getattr(node, "source_line", None)
    column = getattr(node, "source_column", None)
    if line is None:
        return ""
    return _(" (linha %(line)s, coluna %(column)s)") % {"line": line, "column": column}


def _refuse(message: str, node=None):
    raise UnsafeInput(message + _where(node))


def _check_url(value: str, node) -> None:
    if not SAFE_URL.match(value.strip()) or ".." in value:
        _refuse(
            _("url() só pode apontar para os arquivos da própria marca (/brand/…); “%(url)s” não é permitido.")
            % {"url": value[:80]},
            node,
        )


def _check_text(value: str, node) -> None:
    folded = _INVISIBLE.sub("", value).lower()
    for word in FORBIDDEN_WORDS:
        if word in folded:
            _refuse(_("“%(word)s” não é permitido no CSS.") % {"word": word.rstrip("(:")}, node)


def _check_values(values, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        _refuse(_("O CSS tem blocos aninhados demais."))
    for token in values:
        kind = token.type
        if kind == "error":
            _refuse(_("CSS inválido: %(message)s") % {"message": token.message}, token)
        elif kind == "url":
            _check_text(token.value, token)
            _check_url(token.value, token)
        elif kind == "function":
            name = token.lower_name
            _check_text(name + "(", token)
            if "expression" in name:
                _refuse(_("expression() não é permitido no CSS."), token)
            if name in URL_FUNCTIONS:
                for argument in token.arguments:
                    if argument.type in ("string", "url"):
                        _check_text(argument.value, argument)
                        _check_url(argument.value, argument)
            _check_values(token.arguments, depth + 1)
        elif kind in ("() block", "[] block", "{} block"):
            _check_values(token.content, depth + 1)
        elif kind in ("ident", "string", "hash"):
            _check_text(token.value, token)
        elif kind == "at-keyword":
            _refuse(_("@%(name)s não é permitido aqui.") % {"name": token.value}, token)


def _render_declarations(content, depth: int) -> list[str]:
    out = []
    for item in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
        if item.type == "declaration":
            if item.lower_name in FORBIDDEN_PROPERTIES or "binding" in item.lower_name or "behavior" in item.lower_name:
                _refuse(_("A propriedade “%(name)s” não é permitida.") % {"name": item.name}, item)
            _check_text(item.name, item)
            _check_values(item.value, depth + 1)
            value = tinycss2.serialize(item.value).strip()
            important = " !important" if item.important else ""
            out.append(f"{tinycss2.serialize_identifier(item.name)}: {value}{important};")
        elif item.type in ("qualified-rule", "at-rule"):  # CSS nesting
            out.append(_render_rule(item, depth + 1))
        elif item.type == "error":
            _refuse(_("CSS inválido: %(message)s") % {"message": item.message}, item)
    return out


def _render_rule(rule, depth: int) -> str:
    if depth > MAX_DEPTH:
        _refuse(_("O CSS tem blocos aninhados demais."), rule)
    if rule.type == "error":
        _refuse(_("CSS inválido: %(message)s") % {"message": rule.message}, rule)
    if rule.type == "qualified-rule":
        _check_values(rule.prelude, depth)
        body = " ".join(_render_declarations(rule.content, depth))
        return f"{tinycss2.serialize(rule.prelude).strip()} {{ {body} }}"
    if rule.type != "at-rule":
        _refuse(_("CSS inválido."), rule)
    name = rule.lower_at_keyword
    allowed = RULE_BLOCK_AT_RULES | DECLARATION_AT_RULES
    if name not in allowed:
        _refuse(_("@%(name)s não é permitido no CSS da marca.") % {"name": rule.at_keyword}, rule)
    _check_values(rule.prelude, depth)
    prelude = tinycss2.serialize(rule.prelude).strip()
    head = f"@{name} {prelude}".rstrip()
    if rule.content is None:
        if name == "layer":  # `@layer a, b;`
            return head + ";"
        _refuse(_("@%(name)s precisa de um bloco { … }.") % {"name": rule.at_keyword}, rule)
    if name in DECLARATION_AT_RULES:
        return f"{head} {{ {' '.join(_render_declarations(rule.content, depth))} }}"
    inner = [
        _render_rule(child, depth + 1)
        for child in tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
    ]
    return f"{head} {{\n" + "\n".join(inner) + "\n}"


def sanitize_css(text: str) -> str:
    """The safe, re-serialised form of `text`, or UnsafeInput naming the first problem."""
    text = text or ""
    if len(text.encode("utf-8")) > MAX_CSS_BYTES:
        raise UnsafeInput(_("O CSS pode ter no máximo %(size)s KB.") % {"size": MAX_CSS_BYTES // 1024})
    if "\x00" in text:
        raise UnsafeInput(_("O CSS contém caracteres inválidos."))
    if not text.strip():
        return ""
    if "<" in text:  # no legitimate CSS needs it; it is how </style> and <!-- get in
        raise UnsafeInput(_("O caractere “<” não é permitido no CSS."))
    rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    output = "\n".join(_render_rule(rule, 0) for rule in rules)
    if "<" in output:
        raise UnsafeInput(_("O caractere “<” não é permitido no CSS."))
    _check_text(output.replace("\\", ""), None)  # a last look at the text as a browser would read it
    return output + "\n"
