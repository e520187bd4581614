"""Platform default → partner → client, field by field; one cached selector."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branding.cache import brand_cache_key
from branding.models import Brand
from branding.selectors import effective_brand
from branding.services import BrandRefused, brand_reset, brand_update
from tenants.services import organization_update
from tests.branding.test_safety import PNG, SVG


def test_without_any_brand_the_platform_defaults_apply(db, tenant):
    brand = effective_brand(tenant)
    assert brand.company_name == "Orbit"
    assert brand.primary_color == "#2f5bea"
    assert brand.show_powered_by is True
    assert brand.logo_url == "" and brand.custom_css_url == ""


def test_partner_brand_is_inherited_and_the_client_overrides_field_by_field(two_partners, commit, media):
    zap, nuvem, padaria, oficina = two_partners
    with commit():
        brand_update(
            organization=zap, company_name="Zap Atende", primary_color="#ff0000", secondary_color="#00aa00",
            widget_greeting="Oi! Fala com a Zap.", email_sender_name="Time Zap", logo=PNG, custom_css="a { color: red }",
        )
        brand_update(organization=padaria, primary_color="#0000ff", custom_css="b { color: blue }")
    brand = effective_brand(padaria)
    assert brand.company_name == "Zap Atende"  # inherited
    assert brand.primary_color == "#0000ff"  # overridden
    assert brand.secondary_color == "#00aa00"  # inherited
    assert brand.widget_greeting == "Oi! Fala com a Zap."
    assert brand.widget_offline_message.startswith("No momento")  # platform default
    assert brand.logo_name.startswith("whitelabel/t_zap/logo/") and brand.logo_url.startswith("/brand/logo?v=")
    # CSS cascades: partner's rules, then the client's
    assert brand.custom_css.index("color: red") < brand.custom_css.index("color: blue")
    assert [s.split(":")[0] for s in brand.sources] == ["partner", "self"]
    # the other partner's client sees none of it
    other = effective_brand(oficina)
    assert other.company_name == "Orbit" and other.primary_color == "#2f5bea" and other.logo_name == ""


def test_platform_default_row_is_the_root_of_every_tree(two_partners, commit):
    zap, nuvem, padaria, oficina = two_partners
    with commit():
        brand_update(organization=None, company_name="Atende Plataforma", email_reply_to="ajuda@plataforma.example")
        brand_update(organization=zap, company_name="Zap Atende")
    assert effective_brand(padaria).email_reply_to == "ajuda@plataforma.example"
    assert effective_brand(padaria).company_name == "Zap Atende"
    assert effective_brand(oficina).company_name == "Atende Plataforma"
    assert effective_brand(None).company_name == "Atende Plataforma"


def test_cached_per_tenant_and_a_hit_costs_no_query(two_partners):
    zap, nuvem, padaria, oficina = two_partners
    effective_brand(padaria)
    with CaptureQueriesContext(connection) as queries:
        effective_brand(padaria)
    assert len(queries) == 0
    assert brand_cache_key(padaria.pk) != brand_cache_key(oficina.pk)
    assert str(padaria.pk) in brand_cache_key(padaria.pk)


def test_saving_a_partner_brand_invalidates_its_clients_and_only_them(two_partners, commit):
    zap, nuvem, padaria, oficina = two_partners
    assert effective_brand(padaria).company_name == "Orbit"  # cached now
    assert effective_brand(oficina).company_name == "Orbit"
    with commit():
        brand_update(organization=zap, company_name="Zap Atende")
    assert effective_brand(padaria).company_name == "Zap Atende"
    with CaptureQueriesContext(connection) as queries:
        effective_brand(oficina)  # untouched entry, still cached
    assert len(queries) == 0
    with commit():
        brand_reset(organization=zap)
    assert effective_brand(padaria).company_name == "Orbit"


def test_powered_by_is_hidden_only_with_the_white_label_feature(two_partners, commit):
    zap, nuvem, padaria, oficina = two_partners
    with pytest.raises(BrandRefused) as refused:
        brand_update(organization=zap, show_powered_by=False)  # professional plan
    assert "White-label" in refused.value.errors["show_powered_by"][0]
    assert not Brand.objects.filter(organization=zap).exists()

    with commit():
        organization_update(organization=zap, name=zap.name, kind="partner", parent=None, plan="white-label")
    zap.refresh_from_db()
    with commit():
        brand_update(organization=zap, show_powered_by=False)
    assert effective_brand(padaria).show_powered_by is False  # the partner's white label covers its clients
    assert effective_brand(oficina).show_powered_by is True

    # a downgrade brings "powered by" back at once (the plan change invalidates the tree)
    with commit():
        organization_update(organization=zap, name=zap.name, kind="partner", parent=None, plan="professional")
    assert effective_brand(padaria).show_powered_by is True


def test_a_refused_update_keeps_the_previous_brand_and_its_files(two_partners, commit, media):
    zap, *_ = two_partners
    with commit():
        brand_update(organization=zap, company_name="Zap Atende", primary_color="#ff0000", logo=PNG)
    before = Brand.objects.get(organization=zap)
    files_before = sorted(p.name for p in media.rglob("*") if p.is_file())
    with pytest.raises(BrandRefused) as refused:
        brand_update(
            organization=zap, company_name="Outro nome", primary_color="vermelho", logo=SVG,
            custom_css="@import 'https://evil.example/x.css';",
        )
    assert set(refused.value.errors) == {"primary_color", "custom_css"}
    after = Brand.objects.get(organization=zap)
    assert (after.company_name, after.primary_color, after.logo) == (before.company_name, before.primary_color, before.logo)
    assert sorted(p.name for p in media.rglob("*") if p.is_file()) == files_before


def test_assets_are_stored_under_whitelabel_schema_and_replaced_files_removed(two_partners, commit, media):
    zap, *_ = two_partners
    with commit():
        brand_update(organization=zap, logo=PNG)
    first = Brand.objects.get(organization=zap).logo
    assert (media / first).exists() and first.startswith("whitelabel/t_zap/logo/")
    with commit():
        brand_update(organization=zap, logo=SVG)
    second = Brand.objects.get(organization=zap).logo
    assert second.endswith(".svg") and (media / second).exists()
    assert not (media / first).exists()
    with commit():
        brand_update(organization=zap, remove_logo=True)
    assert Brand.objects.get(organization=zap).logo == "" and not (media / second).exists()
