"""`manage.py billing …`: generate-invoice (and --dry-run), close-period, invoices."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from billing import periods
from billing.models import Invoice
from tests.billing.conftest import bill_from, final_meter, last_period

pytestmark = pytest.mark.django_db


def billing(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("billing", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dry_run_shows_the_invoice_and_writes_nothing(tenant):
    bill_from(tenant)
    final_meter(tenant, "conversation_started", 10_100)
    out, _ = billing("generate-invoice", "--tenant", tenant.slug, "--dry-run")
    assert "dry run, nothing written" in out and "497.00" in out and "20.00" in out and "517.00" in out
    assert not Invoice.objects.exists()


def test_generate_then_list_as_json(tenant, other_tenant):
    bill_from(tenant)
    bill_from(other_tenant)
    out, _ = billing("generate-invoice", "--tenant", tenant.slug, "--period", periods.label(last_period()))
    assert "1 created" in out
    assert list(Invoice.objects.values_list("organization_id", flat=True)) == [tenant.pk]  # only this one
    out, _ = billing("generate-invoice", "--tenant", tenant.slug)
    assert "0 created, 1 already invoiced" in out
    listed = json.loads(billing("invoices", "--tenant", tenant.slug, "--format", "json")[0])
    assert [(i["number"], i["total"], i["status"]) for i in listed] == [("ORB-000001", "497.00", "open")]
    assert json.loads(billing("invoices", "--tenant", other_tenant.slug, "--format", "json")[0]) == []


def test_close_period_reports_progress(tenant, other_tenant):
    bill_from(tenant)
    bill_from(other_tenant)
    out, err = billing("close-period")
    assert "2 created" in out and "2/2 (100%)" in err
    assert Invoice.objects.count() == 2


@pytest.mark.parametrize("args, message", [
    (("generate-invoice", "--tenant", "nobody"), "unknown organization"),
    (("generate-invoice", "--tenant", "alpha", "--period", "2999-01"), "in the future"),
    (("generate-invoice", "--tenant", "alpha", "--period", "this-month"), "ainda está aberto"),
    (("close-period", "--period", "13-2026"), "invalid period"),
    (("invoices", "--tenant", "\x00"), "unknown organization"),
])
def test_bad_input_is_a_clear_error_and_nothing_is_written(tenant, args, message):
    with pytest.raises(CommandError, match=message):
        billing(*args)
    assert not Invoice.objects.exists()
