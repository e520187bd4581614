"""Writes to brands. Everything is checked before anything is written: a refused field
leaves the previous brand exactly as it was (files included)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.services import audit_record
from branding import storage
from branding.cache import invalidate_brands
from branding.models import Brand
from branding.safety import UnsafeInput, check_favicon, check_logo, sanitize_css, validate_color
from branding.selectors import may_hide_powered_by
from orbit.lib.text import header_unsafe, unstorable

TEXT_LIMITS = {
    "company_name": 100,
    "email_sender_name": 100,
    "widget_greeting": 300,
    "widget_offline_message": 500,
}
# Text that ends up in a mail header (the From name is the sender name, else the company
# name): one line, no control characters.
HEADER_FIELDS = ("company_name", "email_sender_name")


class BrandRefused(Exception):
    """Nothing was saved; `errors` maps form field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def brand_update(
    *,
    organization,
    actor=None,
    company_name: str = "",
    primary_color: str = "",
    secondary_color: str = "",
    custom_css: str = "",
    email_sender_name: str = "",
    email_reply_to: str = "",
    widget_greeting: str = "",
    widget_offline_message: str = "",
    show_powered_by: bool | None = None,
    logo: bytes | None = None,
    remove_logo: bool = False,
    favicon: bytes | None = None,
    remove_favicon: bool = False,
) -> Brand:
    """Set an organization's own brand (None: the platform default). Empty values inherit.

    Raises BrandRefused with every problem found; then nothing is stored."""
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}

    def check(field: str, func, value):
        try:
            return func(value)
        except UnsafeInput as exc:
            errors.setdefault(field, []).append(str(exc))
            return None

    texts = {
        "company_name": company_name,
        "email_sender_name": email_sender_name,
        "widget_greeting": widget_greeting,
        "widget_offline_message": widget_offline_message,
    }
    for name, limit in TEXT_LIMITS.items():
        value = (texts[name] or "").strip()
        if len(value) > limit:
            errors.setdefault(name, []).append(_("Use no máximo %(limit)s caracteres.") % {"limit": limit})
        if name in HEADER_FIELDS and header_unsafe(value):
            errors.setdefault(name, []).append(
                _("Use uma única linha, sem quebras de linha nem caracteres de controle.")
            )
        elif unstorable(value):
            errors.setdefault(name, []).append(_("O texto contém caracteres inválidos."))
        values[name] = value
    for name, value in (("primary_color", primary_color), ("secondary_color", secondary_color)):
        values[name] = check(name, validate_color, value) if (value or "").strip() else ""
    values["custom_css"] = check("custom_css", sanitize_css, custom_css or "")
    reply_to = (email_reply_to or "").strip().lower()
    if reply_to:
        try:
            validate_email(reply_to)
        except ValidationError:
            errors.setdefault("email_reply_to", []).append(_("Informe um e-mail válido."))
    values["email_reply_to"] = reply_to
    if show_powered_by is False and not may_hide_powered_by(organization=organization):
        errors.setdefault("show_powered_by", []).append(
            _("Ocultar o “powered by” exige um plano com o recurso White-label.")
        )
    values["show_powered_by"] = show_powered_by
    checked_logo = check("logo", check_logo, logo) if logo is not None else None
    checked_favicon = check("favicon", check_favicon, favicon) if favicon is not None else None
    if errors:
        raise BrandRefused(errors)

    schema_name = organization.schema_name if organization is not None else "platform"
    written: list[str] = []  # files this call created, removed again if the save fails
    assets: dict[str, tuple[str, str]] = {}
    try:
        for kind, checked in (("logo", checked_logo), ("favicon", checked_favicon)):
            if checked is None:
                continue
            name = storage.asset_name(schema_name=schema_name, kind=kind, data=checked.data, extension=checked.extension)
            existed = storage.default_storage.exists(name)
            stored = storage.asset_save(name=name, data=checked.data)
            if not existed:
                written.append(stored)
            assets[kind] = (stored, checked.content_type)
        with transaction.atomic():
            brand = _locked_brand(organization)
            replaced = []
            for field_name, value in values.items():
                setattr(brand, field_name, value)
            for kind, remove in (("logo", remove_logo), ("favicon", remove_favicon)):
                old = getattr(brand, kind)
                if kind in assets:
                    new_name, content_type = assets[kind]
                elif remove:
                    new_name, content_type = "", ""
                else:
                    continue
                if old and old != new_name:
                    replaced.append(old)
                setattr(brand, kind, new_name)
                setattr(brand, f"{kind}_content_type", content_type)
            brand.save()
            if organization is not None:
                with schema_context(organization.schema_name):
                    audit_record(action="brand.update", actor=actor, target=brand.company_name or organization.name)
            organization_id = organization.pk if organization is not None else None
            transaction.on_commit(lambda: _after_save(organization_id, replaced))
    except Exception:
        for name in written:
            storage.asset_delete(name)
        raise
    return brand


def _locked_brand(organization) -> Brand:
    Brand.objects.get_or_create(organization=organization)
    return Brand.objects.select_for_update().get(organization=organization)


def _after_save(organization_id: int | None, replaced: list[str]) -> None:
    for name in replaced:
        if not Brand.objects.filter(logo=name).exists() and not Brand.objects.filter(favicon=name).exists():
            storage.asset_delete(name)
    invalidate_brands(organization_id)


def brand_reset(*, organization, actor=None) -> None:
    """Drop an organization's own brand: it inherits everything again."""
    with transaction.atomic():
        brand = Brand.objects.select_for_update().filter(organization=organization).first()
        if brand is None:
            return
        names = [n for n in (brand.logo, brand.favicon) if n]
        brand.delete()
        with schema_context(organization.schema_name):
            audit_record(action="brand.reset", actor=actor, target=organization.name)
        transaction.on_commit(lambda: _after_save(organization.pk, names))


def brand_cache_invalidate(*, organization) -> None:
    """For callers whose change alters the effective brand indirectly (a plan change)."""
    invalidate_brands(organization.pk if organization is not None else None)


def brand_assets_delete(*, names: list[str]) -> None:
    """Remove stored brand files once nothing points at them (after a deletion commits)."""
    for name in names:
        storage.asset_delete(name)
