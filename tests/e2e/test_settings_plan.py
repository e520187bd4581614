"""/settings/plan/ in headless Chromium, at 1280 px and on a 390×844 phone, in Portuguese and
English: money in the language's format, the invoice opens, the page fits the screen, and an
upgrade goes through its preview. Screenshots go to tests/artifacts/plan-*.png."""

from __future__ import annotations

import pytest

from billing import services
from billing.models import Invoice
from tests.billing.conftest import bill_from, closable_now, last_period
from tests.e2e.conftest import screenshot
from tests.e2e.test_agents_and_visitors import device, fits, login  # noqa: F401
from tests.factories import owner_email

MONEY = {"pt-BR": "R$ 497,00", "en": "R$497.00"}
WORDS = {"pt-BR": ("Seu plano", "Faturas", "Ver mudança", "Confirmar", "Plano alterado para Business"),
         "en": ("Your plan", "Invoices", "Review change", "Confirm", "Plan changed to Business")}


@pytest.fixture
def invoiced(tenant, live_db):
    bill_from(tenant)
    services.period_close(period=last_period(), now=closable_now())
    return Invoice.objects.get(organization_id=tenant.pk)


@pytest.mark.parametrize("locale", ["pt-BR", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_owner_reads_the_plan_opens_an_invoice_and_upgrades(device, url, tenant, invoiced, size, locale):  # noqa: F811
    your_plan, invoices, review, confirm, changed = WORDS[locale]
    page = device(size, locale)
    login(page, url, owner_email(tenant.slug))
    page.goto(url("alpha.localhost", "/settings/plan/"))
    page.wait_for_selector(f"h2 >> text={your_plan}")
    assert MONEY[locale] in page.inner_text(".plan-current")
    assert invoiced.number in page.inner_text("table.invoices")
    screenshot(page, f"plan-{size}-{locale}")
    width, screen = fits(page)
    assert width <= screen, f"the plan page is {width} px wide in a {screen} px window"

    page.click(f"table.invoices >> text={invoiced.number}")
    page.wait_for_selector(f"h1 >> text={invoiced.number}")
    assert MONEY[locale] in page.inner_text("tr.due")
    screenshot(page, f"plan-invoice-{size}-{locale}")
    width, screen = fits(page)
    assert width <= screen, f"the invoice is {width} px wide in a {screen} px window"

    page.goto(url("alpha.localhost", "/settings/plan/"))
    page.click(f'article[data-plan="business"] >> button >> text={review}')
    page.wait_for_selector(f"button >> text={confirm}")
    screenshot(page, f"plan-change-{size}-{locale}")
    page.click(f"button >> text={confirm}")
    page.wait_for_selector(f"text={changed}")
    tenant.refresh_from_db()
    assert tenant.plan.code == "business"
    assert Invoice.objects.filter(organization_id=tenant.pk, kind="proration").count() == 1
