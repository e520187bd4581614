"""The effective brand of an organization: platform default → ancestors (partner,
holding) → the organization's own brand, field by field. One selector, cached per tenant.

Public API for other apps (chat's widget and inbox call this too):
    effective_brand(organization) -> EffectiveBrand     (None = the platform host)
    brand_email_headers(brand) -> (from_email, reply_to list)
    brand_for_edit(organization) -> Brand | None        (the organization's own row)"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django_tenants.utils import get_tenant_model

from branding.cache import cache_brand, cached_brand
from branding.models import Brand
from branding.storage import asset_version
from orbit.lib.text import header_safe, header_unsafe

WHITE_LABEL_FEATURE = "white_label"
PRODUCT_NAME = "Orbit"
PLATFORM_DEFAULTS = {
    "company_name": PRODUCT_NAME,
    "primary_color": "#2f5bea",
    "secondary_color": "#1d2330",
    "email_sender_name": "",
    "email_reply_to": "",
    "widget_greeting": "Olá! Como podemos ajudar?",
    "widget_offline_message": "No momento não há ninguém online. Deixe sua mensagem que responderemos em breve.",
}
TEXT_FIELDS = tuple(PLATFORM_DEFAULTS)


@dataclass(frozen=True)
class EffectiveBrand:
    company_name: str
    primary_color: str
    secondary_color: str
    email_sender_name: str
    email_reply_to: str
    widget_greeting: str
    widget_offline_message: str
    show_powered_by: bool
    custom_css: str = ""
    logo_name: str = ""
    logo_content_type: str = ""
    favicon_name: str = ""
    favicon_content_type: str = ""
    # URLs on the tenant's own host (relative); empty on the platform host.
    logo_url: str = ""
    favicon_url: str = ""
    custom_css_url: str = ""
    # Which levels contributed, root first, e.g. ("platform", "partner:7", "self:9"): for display and tests.
    sources: tuple[str, ...] = field(default_factory=tuple)

    @property
    def powered_by_name(self) -> str:
        return PRODUCT_NAME


def _ancestry(organization) -> list:
    """Root first, the organization last, read fresh from the public table (a cached
    instance may carry a stale parent or plan)."""
    Organization = get_tenant_model()
    chain, seen = [], set()
    next_id = organization.pk
    while next_id is not None and next_id not in seen:
        seen.add(next_id)
        node = Organization.objects.select_related("plan").filter(pk=next_id).first()
        if node is None:
            break
        chain.append(node)
        next_id = node.parent_id
    return list(reversed(chain))


def _may_hide_powered_by(organization) -> bool:
    return organization is None or organization.plan.has_feature(WHITE_LABEL_FEATURE)


def _url(route: str, version: str) -> str:
    """A URL on the tenant's host, whichever urlconf the current request uses."""
    try:
        return f"{reverse(route, urlconf=settings.ROOT_URLCONF)}?v={version}"
    except NoReverseMatch:  # brand routes not installed (a stripped-down urlconf)
        return ""


def _compute(organization) -> EffectiveBrand:
    chain = _ancestry(organization) if organization is not None else []
    rows = Brand.objects.filter(organization__isnull=True)
    if chain:
        rows = Brand.objects.filter(organization__isnull=True) | Brand.objects.filter(
            organization_id__in=[org.pk for org in chain]
        )
    by_org = {row.organization_id: row for row in rows}
    levels = [(None, by_org.get(None))] + [(org, by_org.get(org.pk)) for org in chain]

    values = dict(PLATFORM_DEFAULTS)
    show_powered_by = True
    assets = {"logo": ("", ""), "favicon": ("", "")}
    custom_css = ""
    sources = []
    for org, row in levels:
        if row is None:
            continue
        sources.append("platform" if org is None else f"{'self' if org.pk == organization.pk else org.kind}:{org.pk}")
        for name in TEXT_FIELDS:
            value = getattr(row, name)
            if value:
                values[name] = value
        for kind in assets:
            if getattr(row, kind):
                assets[kind] = (getattr(row, kind), getattr(row, f"{kind}_content_type"))
        if row.custom_css:
            # CSS cascades: a client's own rules come after its partner's.
            custom_css = (custom_css + "\n" + row.custom_css).strip() + "\n"
        if row.show_powered_by is True:
            show_powered_by = True
        elif row.show_powered_by is False and _may_hide_powered_by(org):
            show_powered_by = False

    has_host = organization is not None
    logo_name, logo_type = assets["logo"]
    favicon_name, favicon_type = assets["favicon"]
    return EffectiveBrand(
        **values,
        show_powered_by=show_powered_by,
        custom_css=custom_css,
        logo_name=logo_name,
        logo_content_type=logo_type,
        favicon_name=favicon_name,
        favicon_content_type=favicon_type,
        logo_url=_url("branding:logo", asset_version(logo_name)) if has_host and logo_name else "",
        favicon_url=_url("branding:favicon", asset_version(favicon_name)) if has_host and favicon_name else "",
        custom_css_url=_url("branding:custom_css", _css_version(custom_css)) if has_host and custom_css else "",
        sources=tuple(sources),
    )


def _css_version(css: str) -> str:
    return hashlib.sha256(css.encode()).hexdigest()[:12]


def effective_brand(organization=None) -> EffectiveBrand:
    """The brand a person sees on `organization`'s host (None: the platform default)."""
    organization_id = organization.pk if organization is not None else None
    brand = cached_brand(organization_id)
    if brand is None:
        brand = _compute(organization)
        cache_brand(organization_id, brand)
    return brand


def brand_for_edit(*, organization) -> Brand | None:
    """The organization's own brand row (its overrides), or None if it has none yet."""
    return Brand.objects.filter(organization=organization).first()


def brand_email_headers(brand: EffectiveBrand) -> tuple[str, list[str]]:
    """From (the brand's sender name on the platform's address) and Reply-To.

    Never raises and never yields a header Django would refuse: brand_update refuses line
    breaks, but a value stored before it did (and inherited by a partner's clients) is put
    on one line here, an empty result falls back to the company name, then to the product;
    a Reply-To that is not one clean address is left out."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    sender = header_safe(brand.email_sender_name) or header_safe(brand.company_name) or PRODUCT_NAME
    reply_to = brand.email_reply_to or ""
    clean_reply_to = [reply_to] if reply_to and not header_unsafe(reply_to) and "@" in reply_to else []
    return formataddr((sender, address)), clean_reply_to


def may_hide_powered_by(*, organization) -> bool:
    return _may_hide_powered_by(organization)


def brand_asset_names(*, organization) -> list[str]:
    """The stored files of an organization's own brand (to remove after it is deleted)."""
    return [name for row in Brand.objects.filter(organization=organization) for name in (row.logo, row.favicon) if name]


def brand_inherited(*, organization) -> EffectiveBrand:
    """What the organization would look like without its own overrides: its parent's
    effective brand (or the platform default). The settings form shows it as placeholders."""
    parent = organization.parent if organization is not None else None
    return effective_brand(parent)
