"""What things cost: pure functions of plans, prices, meters and dates (no writes, no
queries). Services build invoices from these; the plan page previews with them.

Rules (billing/README.md, "Invoices"):
* Base fees are billed in advance: the invoice that closes period P carries the base fee of
  the term that starts at P + 1 (a month, or twelve for a yearly cycle) and the overage of P.
  The first, partial month of a new organization is not charged.
* Overage of P is priced from P's final meters: conversations beyond the month's quota, GB of
  peak storage beyond the quota (started GBs), peak agent seats beyond the plan's.
* An upgrade is charged at once for the rest of the current term: (new − old term price)
  × days left / days in the term (none during a trial). A downgrade waits for the end of the term."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from billing import metrics, periods

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
GB = 1024**3


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


class AmountError(ValueError):
    pass


MAX_AMOUNT = Decimal("9999999999")


def parse_amount(value, *, allow_negative: bool = False) -> Decimal:
    """A person's amount ("1234,56", "1234.56", 10) in reais; zero, NaN, infinities, absurd
    sizes and (unless allowed) negatives raise AmountError with the reason (active language)."""
    from django.utils.translation import gettext as _

    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError, AttributeError):
        raise AmountError(_("Valor inválido: %(value)s.") % {"value": str(value)[:20]}) from None
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise AmountError(_("Valor inválido: %(value)s.") % {"value": str(value)[:20]})
    amount = money(amount)
    if amount == 0 or (amount < 0 and not allow_negative):
        raise AmountError(_("O valor deve ser maior que zero."))
    return amount


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    amount: Decimal
    quantity: Decimal = Decimal("1")
    unit_price: Decimal = ZERO
    list_amount: Decimal | None = None  # at list prices (None: the amount); wholesale is priced from it
    client_id: int | None = None


@dataclass
class Draft:
    """An invoice before it is stored: its lines and totals."""

    lines: list[Line] = field(default_factory=list)
    credit_applied: Decimal = ZERO

    @property
    def subtotal(self) -> Decimal:
        return money(sum((line.amount for line in self.lines if line.amount > 0), ZERO))

    @property
    def discount_total(self) -> Decimal:
        return money(-sum((line.amount for line in self.lines if line.amount < 0), ZERO))

    @property
    def total(self) -> Decimal:
        return max(ZERO, money(self.subtotal - self.discount_total))

    @property
    def amount_due(self) -> Decimal:
        return money(self.total - self.credit_applied)

    def apply_credit(self, balance: Decimal) -> Decimal:
        """Draw up to the total from a credit balance; returns what was drawn."""
        self.credit_applied = money(min(max(balance, ZERO), self.total))
        return self.credit_applied


def term_price(*, plan, cycle: str, price_override: Decimal | None, retail_monthly: Decimal | None = None) -> Decimal | None:
    """The base fee of one term: the contract price when the operator set one, else the
    (partner's retail, else list) monthly price, or the yearly price with its discount.
    None: the plan is priced on request and has no contract price yet."""
    if price_override is not None:
        return money(price_override)
    if cycle == "yearly":
        if retail_monthly is not None:
            return money(retail_monthly * 12 * (100 - plan.yearly_discount_percent) / 100)
        return None if plan.yearly_price is None else money(plan.yearly_price)
    monthly = retail_monthly if retail_monthly is not None else plan.price_monthly
    return None if monthly is None else money(monthly)


def months_in_term(cycle: str) -> int:
    return 12 if cycle == "yearly" else 1


def term_end(start: dt.date, cycle: str) -> dt.date:
    end = start
    for _ in range(months_in_term(cycle)):
        end = periods.next_period(end)
    return end


def days_in_month(period: dt.date) -> int:
    return (periods.next_period(period) - period).days


def discounted(amount: Decimal, discount_percent: Decimal) -> Decimal:
    return money(amount * discount_percent / 100) if discount_percent else ZERO


@dataclass(frozen=True)
class Overage:
    metric: str
    kind: str
    units: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return money(self.unit_price * self.units)


OVERAGE_RULES = (
    # metric, line kind, plan price field, units beyond the limit
    (metrics.CONVERSATION_STARTED, "overage_conversations", "overage_conversation_price",
     lambda used, limit: used - limit),
    (metrics.STORAGE_BYTES, "overage_storage", "overage_gb_price",
     lambda used, limit: math.ceil((used - limit) / GB)),
    (metrics.AGENT_SEAT, "overage_seats", "overage_seat_price", lambda used, limit: used - limit),
)


def overages(*, plan, limits: dict[str, int | None], usage: dict[str, int]) -> list[Overage]:
    """Units beyond each quota, priced by the plan (a price left empty is not charged).
    `usage`: a counter's period total, a gauge's peak."""
    result = []
    for metric, kind, price_field, beyond in OVERAGE_RULES:
        limit = limits.get(metric)
        used = usage.get(metric, 0)
        price = getattr(plan, price_field)
        if metrics.is_unlimited(limit) or price is None or used <= limit:
            continue
        units = beyond(used, limit)
        if units > 0:
            result.append(Overage(metric, kind, units, Decimal(price)))
    return result


def proration(*, old_price: Decimal | None, new_price: Decimal | None, term_start: dt.date, term_end: dt.date,
              now: dt.datetime) -> tuple[Decimal, int, int]:
    """An upgrade's charge for the rest of the current term (a month, or the year of a
    yearly cycle): (new − old term price) × days left / days in the term, the day of the
    change counted as left. Returns (amount, days left, days in the term)."""
    total_days = max(1, (term_end - term_start).days)
    days_left = min(total_days, max(0, (term_end - periods.localdate(now)).days))
    if old_price is None or new_price is None or new_price <= old_price:
        return ZERO, days_left, total_days
    return money((new_price - old_price) * days_left / total_days), days_left, total_days


def format_brl(amount, language: str | None = None) -> str:
    """Reais for people: `R$ 1.234,56` in Portuguese, `R$1,234.56` in English (for machines
    use str(amount): never a locale's separators in data attributes, SVG or JSON)."""
    from django.utils.translation import get_language

    value = money(amount)
    sign = "−" if value < 0 else ""
    whole, cents = f"{abs(value):,.2f}".split(".")
    if (language or get_language() or "pt-br").lower().startswith("pt"):
        return f"{sign}R$ {whole.replace(',', '.')},{cents}"
    return f"{sign}R${whole}.{cents}"
