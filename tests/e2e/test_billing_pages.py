"""The billing pages not covered elsewhere, in headless Chromium at 1280 px and on a 390×844
phone, in Portuguese and English: the partner's client page (subscription and invoices), the
page of a tenant suspended for non-payment, and the reports page of a plan without reports.
Each fits the screen; screenshots go to tests/artifacts/billing-*.png."""

from __future__ import annotations

import datetime as dt

import pytest

from billing import services
from billing.models import Invoice, Plan
from tenants.models import Organization
from tenants.routing import invalidate_organization
from tests.billing.conftest import bill_from, closable_now, last_period
from tests.e2e.conftest import screenshot
from tests.e2e.test_agents_and_visitors import device, fits  # noqa: F401
from tests.factories import OWNER_PASSWORD, make_organization, owner_email

WORDS = {"pt-BR": {"subscription": "Assinatura", "apply": "Aplicar", "pay": "Pagar a fatura", "reports": "Ver planos"},
         "en": {"subscription": "Subscription", "apply": "Apply", "pay": "Pay the invoice", "reports": "See plans"}}


def login(page, url, host: str, email: str) -> None:
    page.goto(url(host, "/accounts/login/"))
    page.fill("#id_username", email)
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url(host, "/"))


def assert_fits(page, what: str) -> None:
    width, screen = fits(page)
    assert width <= screen, f"{what} is {width} px wide in a {screen} px window"


@pytest.mark.parametrize("locale", ["pt-BR", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_partner_client_page_suspended_page_and_reports_upsell(device, url, live_db, size, locale):  # noqa: F811
    words = WORDS[locale]
    partner = make_organization("revenda-e2e", kind="partner", plan="white-label")
    client = make_organization("cliente-e2e", parent=partner, plan="professional")
    bill_from(client)
    services.period_close(period=last_period(), now=closable_now(), organization_ids=[client.pk])
    invoice = Invoice.objects.get(organization_id=client.pk)

    page = device(size, locale)
    login(page, url, "revenda-e2e.localhost", owner_email("revenda-e2e"))
    page.goto(url("revenda-e2e.localhost", "/clients/cliente-e2e/"))
    page.wait_for_selector(f"h2 >> text={words['subscription']}")
    assert invoice.number in page.inner_text("#client-invoices + table")
    screenshot(page, f"billing-partner-client-{size}-{locale}")
    assert_fits(page, "the partner's client page")
    page.select_option("#client-plan", "business")
    page.click(f"button >> text={words['apply']}")
    page.wait_for_selector(".messages")
    client.refresh_from_db()
    assert client.plan.code == "business"

    # the client, unpaid past its grace: suspended, but its owner can still reach the bill
    services.dunning_advance(now=invoice.due_at + dt.timedelta(days=11))
    invalidate_organization(client)
    visitor = device(size, locale)
    visitor.goto(url("cliente-e2e.localhost", "/"))
    visitor.wait_for_selector(f"a >> text={words['pay']}")
    screenshot(visitor, f"billing-suspended-{size}-{locale}")
    assert_fits(visitor, "the suspended page")

    # a Starter tenant's reports page says where reports come from
    Organization.objects.filter(pk=partner.pk).update(plan=Plan.objects.get(code="starter"))
    invalidate_organization(partner)
    page.goto(url("revenda-e2e.localhost", "/reports/"))
    page.wait_for_selector(f"a >> text={words['reports']}")
    screenshot(page, f"billing-reports-upsell-{size}-{locale}")
    assert_fits(page, "the reports upsell")
