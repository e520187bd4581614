"""The invoice PDF: a real PDF whose text carries the number, the lines and the totals in
the reader's language, and the brand it is issued under (a partner's for its clients)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

from billing import documents, services
from billing.models import Invoice
from tests.billing.conftest import bill_from, closable_now, final_meter, last_period

pytestmark = pytest.mark.django_db
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(data)
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    pytest.fail("pdftotext (poppler-utils) is needed to read the PDF back")


@pytest.mark.parametrize("language, money", [("pt-br", "R$ 597,00"), ("en", "R$597.00")])
def test_pdf_carries_number_lines_and_totals(tenant, tmp_path, language, money):
    bill_from(tenant)
    final_meter(tenant, "conversation_started", 10_500)
    services.period_close(period=last_period(), now=closable_now())
    invoice = Invoice.objects.get(organization_id=tenant.pk)
    with translation.override(language):
        data = documents.invoice_pdf(invoice, brand_name="Zap Atende → Suporte", accent="#aa3300")
    assert data.startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"invoice-{language}.pdf").write_bytes(data)
    text = pdf_text(data, tmp_path)
    assert invoice.number in text and "Zap Atende -> Suporte" in text
    assert money in text and "Professional" in text
    assert ("Valor a pagar" if language == "pt-br" else "Amount due") in text
