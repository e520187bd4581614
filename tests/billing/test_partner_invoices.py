"""Partners: their clients are invoiced by the partner at its retail prices; the platform
invoices the partner once per period, a wholesale line per client that matches the
client's invoice at list prices less the partner's discount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing import services
from billing.models import Invoice, PartnerPricing
from tests.billing.conftest import bill_from, closable_now, final_meter, last_period
from tests.factories import make_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner_tree():
    partner = make_organization("revenda-x", kind="partner", plan="white-label")
    one = make_organization("cliente-a", parent=partner, plan="starter")
    two = make_organization("cliente-b", parent=partner, plan="professional")
    PartnerPricing.objects.create(partner=partner, wholesale_discount_percent=Decimal("40"),
                                  retail_prices={"starter": "249.00"})
    for org in (partner, one, two):
        bill_from(org)
    return partner, one, two


def test_clients_are_invoiced_by_their_partner_and_the_partner_wholesale(partner_tree):
    partner, one, two = partner_tree
    final_meter(one, "conversation_started", 1_100)  # starter: 1,000, R$ 0,30 beyond

    result = services.period_close(period=last_period(), now=closable_now())

    assert (result.created, result.waiting, result.failed) == (3, 0, [])
    first = Invoice.objects.get(organization_id=one.pk)
    assert first.issuer == f"org:{partner.pk}" and first.issuer_name == partner.name
    assert first.number == "REVENDAX-000001"
    assert first.lines.get(kind="base").amount == Decimal("249.00")  # the partner's retail price
    assert first.lines.get(kind="overage_conversations").amount == Decimal("30.00")
    second = Invoice.objects.get(organization_id=two.pk)
    assert second.lines.get(kind="base").amount == Decimal("497.00")  # no retail price set: list
    assert second.number == "REVENDAX-000002"

    wholesale = Invoice.objects.get(organization_id=partner.pk)
    assert wholesale.issuer == "platform" and wholesale.number == "ORB-000001"
    lines = {line.client_id: line.amount for line in wholesale.lines.filter(kind="wholesale")}
    # the client's invoice at list prices (197 + 30, and 497), less 40 %
    assert lines == {one.pk: Decimal("136.20"), two.pk: Decimal("298.20")}
    assert wholesale.lines.get(kind="base").amount == Decimal("2997.00")
    assert wholesale.total == Decimal("2997.00") + Decimal("136.20") + Decimal("298.20")


def test_the_partner_waits_for_its_clients_and_a_rerun_completes_it(partner_tree):
    partner, one, two = partner_tree

    first = services.period_close(period=last_period(), now=closable_now(), organization_ids=[partner.pk, one.pk])
    assert (first.created, first.waiting) == (1, 1)
    assert not Invoice.objects.filter(organization_id=partner.pk).exists()

    second = services.period_close(period=last_period(), now=closable_now())
    assert (second.created, second.existing) == (2, 1)
    assert Invoice.objects.get(organization_id=partner.pk).lines.filter(kind="wholesale").count() == 2


def test_a_partner_sees_the_invoices_it_issued_and_not_others(partner_tree, tenant):
    from billing import selectors

    partner, one, _two = partner_tree
    bill_from(tenant)
    services.period_close(period=last_period(), now=closable_now())
    mine = Invoice.objects.get(organization_id=one.pk)
    not_mine = Invoice.objects.get(organization_id=tenant.pk)

    assert selectors.invoice_for(organization=partner, invoice_id=mine.pk, as_issuer=True) == mine
    with pytest.raises(selectors.InvoiceNotFound):
        selectors.invoice_for(organization=partner, invoice_id=not_mine.pk, as_issuer=True)
    with pytest.raises(selectors.InvoiceNotFound):  # a client never reads its sibling's invoice
        selectors.invoice_for(organization=one, invoice_id=Invoice.objects.get(organization_id=_two.pk).pk)


def test_a_client_who_joined_after_the_period_does_not_hold_the_partner_back(partner_tree):
    from django.utils import timezone

    from tenants.models import Organization

    partner, one, two = partner_tree
    newcomer = make_organization("cliente-novo", parent=partner, plan="starter")
    Organization.objects.filter(pk=newcomer.pk).update(created_at=timezone.now())

    result = services.period_close(period=last_period(), now=closable_now())

    assert (result.created, result.waiting) == (3, 0)
    wholesale = Invoice.objects.get(organization_id=partner.pk)
    assert newcomer.pk not in set(wholesale.lines.values_list("client_id", flat=True))
