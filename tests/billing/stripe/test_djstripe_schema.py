"""The test database builds dj-stripe's tables from tests/billing/stripe/djstripe_schema (one
migration, generated from dj-stripe's models) instead of dj-stripe's own migrations, which
cost minutes of CPU per fresh database. It must describe exactly the installed models."""

from __future__ import annotations

import io

from django.conf import settings
from django.core.management import call_command


def test_the_snapshot_is_used_only_by_the_tests():
    assert settings.TESTING
    assert settings.MIGRATION_MODULES["djstripe"] == "tests.billing.stripe.djstripe_schema.migrations"


def test_the_snapshot_matches_dj_stripes_models(db):
    out = io.StringIO()
    # exits non-zero (SystemExit) when the models need a migration the snapshot lacks
    call_command("makemigrations", "djstripe", check=True, dry_run=True, stdout=out, stderr=io.StringIO())
    assert "No changes detected" in out.getvalue()
