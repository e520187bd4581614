"""An invoice as a PDF (fpdf2, core fonts: no font files, no network). The caller hands
over the brand it shows under (white-label: the partner's for its clients)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

from billing import pricing
from billing.models import Invoice

# Core PDF fonts speak Latin-1: what Portuguese needs, less a few typographic signs.
_LATIN1_SUBSTITUTES = {"→": "->", "−": "-", "–": "-", "—": "-", "…": "...", "•": "*", "“": '"', "”": '"',
                       "‘": "'", "’": "'", "\u00a0": " "}


def _text(value) -> str:
    text = str(value)
    for char, substitute in _LATIN1_SUBSTITUTES.items():
        text = text.replace(char, substitute)
    return text.encode("latin-1", "replace").decode("latin-1")


def _rgb(hex_color: str) -> tuple[int, int, int]:
    value = (hex_color or "").lstrip("#")
    if len(value) != 6:
        return (47, 91, 234)
    try:
        return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    except ValueError:
        return (47, 91, 234)


def _date(moment) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y") if moment else "-"


def invoice_pdf(invoice: Invoice, *, brand_name: str, accent: str = "") -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_text(f"{_('Fatura')} {invoice.number}"))
    pdf.set_author(_text(invoice.issuer_name))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    red, green, blue = _rgb(accent)

    pdf.set_fill_color(red, green, blue)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 14, _text(f"  {brand_name}"), fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(4)

    title = _("Nota de crédito") if invoice.kind == Invoice.Kind.CREDIT_NOTE else _("Fatura")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, _text(f"{title} {invoice.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for label, value in (
        (_("Emitida por"), invoice.issuer_name),
        (_("Cliente"), invoice.customer_name),
        (_("Período"), f"{invoice.period.month:02d}/{invoice.period.year}"),
        (_("Emissão"), _date(invoice.issued_at)),
        (_("Vencimento"), _date(invoice.due_at)),
        (_("Situação"), invoice.get_status_display()),
    ):
        pdf.cell(40, 6, _text(label))
        pdf.cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(235, 238, 245)
    pdf.cell(140, 7, _text(_("Descrição")), fill=True)
    pdf.cell(0, 7, _text(_("Valor")), fill=True, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in invoice.lines.all():
        y = pdf.get_y()
        pdf.multi_cell(140, 6, _text(line.description), new_x="RIGHT", new_y="TOP")
        height = max(6, pdf.get_y() - y) if pdf.get_y() > y else 6
        pdf.set_xy(150, y)
        pdf.cell(0, 6, _text(pricing.format_brl(line.amount)), align="R")
        pdf.set_xy(pdf.l_margin, y + height)
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    for label, amount in ((_("Subtotal"), invoice.subtotal), (_("Descontos"), -invoice.discount_total),
                          (_("Total"), invoice.total), (_("Créditos aplicados"), -invoice.credit_applied)):
        pdf.cell(140, 6, _text(label), align="R")
        pdf.cell(0, 6, _text(pricing.format_brl(amount)), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(140, 8, _text(_("Valor a pagar")), align="R")
    pdf.cell(0, 8, _text(pricing.format_brl(invoice.amount_due)), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
