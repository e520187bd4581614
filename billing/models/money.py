"""Money tables, all in the public schema: subscriptions, invoices and their lines, the
credit ledger, one-off adjustments, partners' price lists and the notices owed.

Orbit's invoice is the record; Stripe (when configured) only collects it."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.usage import Plan

ZERO = Decimal("0.00")
PLATFORM_ISSUER = "platform"


def money_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class Subscription(models.Model):
    """One per organization. The plan here and the organization's `plan` move together
    (billing.services.subscriptions is their only writer after creation)."""

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Em teste")
        ACTIVE = "active", _("Ativa")
        PAST_DUE = "past_due", _("Pagamento pendente")
        GRACE = "grace", _("Em carência")
        SUSPENDED = "suspended", _("Suspensa")
        CANCELLED = "cancelled", _("Cancelada")

    class Cycle(models.TextChoices):
        MONTHLY = "monthly", _("Mensal")
        YEARLY = "yearly", _("Anual")

    organization = models.OneToOneField(
        settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="subscription", verbose_name=_("organização")
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("plano"))
    cycle = models.CharField(_("ciclo"), max_length=8, choices=Cycle.choices, default=Cycle.MONTHLY)
    status = models.CharField(_("situação"), max_length=10, choices=Status.choices, default=Status.TRIALING)
    trial_ends_at = models.DateTimeField(_("fim do teste"), null=True, blank=True)
    # The paid term: a calendar month (monthly) or twelve (yearly); end is exclusive.
    current_period_start = models.DateField(_("início do período"))
    current_period_end = models.DateField(_("fim do período"))
    cancel_at_period_end = models.BooleanField(_("cancelar no fim do período"), default=False)
    cancelled_at = models.DateTimeField(_("cancelada em"), null=True, blank=True)
    # A downgrade (or cycle change) waits for the end of the term.
    scheduled_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("plano agendado")
    )
    scheduled_cycle = models.CharField(_("ciclo agendado"), max_length=8, choices=Cycle.choices, blank=True)
    price_override = money_field(
        _("preço contratado (por ciclo)"), null=True, blank=True,
        help_text=_("Enterprise e contratos: substitui o preço do plano; só o operador altera"),
    )
    discount_percent = models.DecimalField(_("desconto (%)"), max_digits=5, decimal_places=2, default=ZERO)
    payment_method = models.CharField(_("forma de pagamento"), max_length=80, blank=True)
    past_due_since = models.DateTimeField(_("em atraso desde"), null=True, blank=True)
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("assinatura")
        verbose_name_plural = _("assinaturas")
        constraints = [
            models.CheckConstraint(condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                                   name="billing_subscription_discount_range"),
            models.CheckConstraint(condition=Q(price_override__isnull=True) | Q(price_override__gte=0),
                                   name="billing_subscription_override_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.plan_id} {self.cycle} {self.status}"

    @property
    def next_billing_date(self):
        return None if self.status == self.Status.CANCELLED else self.current_period_end


class InvoiceSequence(models.Model):
    """Gapless numbers per issuer: taken under a row lock in the transaction that opens
    the invoice, so a rolled-back invoice gives its number back."""

    issuer = models.CharField(max_length=40, unique=True)
    prefix = models.CharField(max_length=16)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.issuer} {self.prefix}-{self.last_number}"


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Rascunho")
        OPEN = "open", _("Em aberto")
        PAID = "paid", _("Paga")
        VOID = "void", _("Anulada")
        UNCOLLECTIBLE = "uncollectible", _("Incobrável")

    class Kind(models.TextChoices):
        PERIOD = "period", _("Fechamento do período")
        PRORATION = "proration", _("Mudança de plano")
        CREDIT_NOTE = "credit_note", _("Nota de crédito")

    # "platform", or "org:<id>" for a partner invoicing its clients at its own prices.
    issuer = models.CharField(_("emissor"), max_length=40, default=PLATFORM_ISSUER)
    issuer_organization = models.ForeignKey(
        settings.TENANT_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("emitida por"),
    )
    # SET_NULL and the names below: an invoice outlives the organization it billed.
    organization = models.ForeignKey(
        settings.TENANT_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("cliente"),
    )
    customer_name = models.CharField(_("nome do cliente"), max_length=200)
    issuer_name = models.CharField(_("nome do emissor"), max_length=200)
    kind = models.CharField(_("tipo"), max_length=12, choices=Kind.choices, default=Kind.PERIOD)
    period = models.DateField(_("período"))
    status = models.CharField(_("situação"), max_length=14, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(_("número"), max_length=32, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="BRL")
    subtotal = money_field(_("subtotal"), default=ZERO)
    discount_total = money_field(_("descontos"), default=ZERO)
    credit_applied = money_field(_("créditos aplicados"), default=ZERO)
    total = money_field(_("total"), default=ZERO)
    amount_due = money_field(_("valor a pagar"), default=ZERO)
    issued_at = models.DateTimeField(_("emitida em"), null=True, blank=True)
    due_at = models.DateTimeField(_("vencimento"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paga em"), null=True, blank=True)
    voided_at = models.DateTimeField(_("anulada em"), null=True, blank=True)
    payment_reference = models.CharField(_("referência do pagamento"), max_length=120, blank=True)
    # What the change was (proration: its idempotency key; credit note: the invoice it credits).
    source_key = models.CharField(max_length=120, blank=True)
    credits_invoice = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    # The one PaymentIntent Stripe collects this invoice with (billing.stripe.collect).
    stripe_payment_intent_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period", "-id"]
        verbose_name = _("fatura")
        verbose_name_plural = _("faturas")
        constraints = [
            # exactly one period invoice per issuer, organization and period
            models.UniqueConstraint(fields=["issuer", "organization", "period"], condition=Q(kind="period"),
                                    name="billing_invoice_one_per_period"),
            models.UniqueConstraint(fields=["issuer", "sequence"], condition=Q(sequence__isnull=False),
                                    name="billing_invoice_number_unique"),
            models.UniqueConstraint(fields=["source_key"], condition=~Q(source_key=""),
                                    name="billing_invoice_source_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "-period"], name="billing_invoice_org_idx"),
            models.Index(fields=["status", "due_at"], name="billing_invoice_due_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"{_('rascunho')} #{self.pk}"


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        BASE = "base", _("Mensalidade")
        OVERAGE_CONVERSATIONS = "overage_conversations", _("Conversas excedentes")
        OVERAGE_STORAGE = "overage_storage", _("Armazenamento excedente")
        OVERAGE_SEATS = "overage_seats", _("Agentes excedentes")
        WHOLESALE = "wholesale", _("Cliente (atacado)")
        ADJUSTMENT = "adjustment", _("Ajuste")
        PRORATION = "proration", _("Mudança de plano")
        DISCOUNT = "discount", _("Desconto")
        CREDIT = "credit", _("Crédito")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("1"))
    unit_price = models.DecimalField(max_digits=12, decimal_places=4, default=ZERO)
    amount = money_field(_("valor"))
    # the same line at the platform's list prices (a partner's retail price may differ):
    # the partner's wholesale line for this client is priced from it
    list_amount = money_field(_("valor a preço de tabela"), default=ZERO)
    # wholesale lines: the client they are for
    client = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["invoice_id", "position", "id"]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class CreditEntry(models.Model):
    """The credit ledger: grants are positive, uses negative; the balance is their sum
    (never a number kept on its own). A use names the invoice that drew it, once."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Concessão")
        USE = "use", _("Uso em fatura")
        REVERSAL = "reversal", _("Estorno")

    organization = models.ForeignKey(
        settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("organização")
    )
    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
    amount = money_field(_("valor"))
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_entries")
    note = models.CharField(_("observação"), max_length=200, blank=True)
    actor_email = models.CharField(_("quem"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("quando"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lançamento de crédito")
        verbose_name_plural = _("créditos")
        constraints = [
            models.UniqueConstraint(fields=["invoice", "kind"], condition=Q(invoice__isnull=False),
                                    name="billing_credit_once_per_invoice"),
            models.CheckConstraint(condition=(Q(kind="grant") & Q(amount__gt=0)) | (Q(kind="use") & Q(amount__lt=0))
                                   | Q(kind="reversal"), name="billing_credit_sign"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.kind} {self.amount}"


class Adjustment(models.Model):
    """A one-off charge (an add-on) or discount (negative) that the organization's next
    period invoice takes, once."""

    organization = models.ForeignKey(
        settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("organização")
    )
    description = models.CharField(_("descrição"), max_length=200)
    amount = money_field(_("valor"), help_text=_("negativo = desconto"))
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ajuste (adicional ou desconto)")
        verbose_name_plural = _("ajustes (adicionais e descontos)")

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class PartnerPricing(models.Model):
    """A partner's price list: what the platform charges it per client (its wholesale
    discount on the list price) and, per plan, what it charges its clients (retail)."""

    partner = models.OneToOneField(
        settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("parceiro")
    )
    wholesale_discount_percent = models.DecimalField(
        _("desconto de atacado (%)"), max_digits=5, decimal_places=2, default=Decimal("40.00")
    )
    # {"starter": "149.00", ...}: the partner's retail monthly price per plan code
    retail_prices = models.JSONField(_("preços de varejo"), default=dict, blank=True)

    class Meta:
        verbose_name = _("tabela de preços do parceiro")
        verbose_name_plural = _("tabelas de preços dos parceiros")
        constraints = [
            models.CheckConstraint(
                condition=Q(wholesale_discount_percent__gte=0) & Q(wholesale_discount_percent__lte=100),
                name="billing_partner_discount_range"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} −{self.wholesale_discount_percent}%"


class BillingNotice(models.Model):
    """An e-mail owed (outbox): written in the transaction that causes it, sent by a task
    that survives a broker outage (the row waits), at most once per (kind, key)."""

    class Kind(models.TextChoices):
        INVOICE_ISSUED = "invoice_issued", _("Fatura emitida")
        PAYMENT_FAILED = "payment_failed", _("Pagamento recusado")
        PAYMENT_REMINDER = "payment_reminder", _("Lembrete de pagamento")
        TRIAL_ENDING = "trial_ending", _("Fim do teste")
        SUSPENSION_WARNING = "suspension_warning", _("Aviso de suspensão")
        SUSPENDED = "suspended", _("Conta suspensa")

    organization = models.ForeignKey(settings.TENANT_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=120)
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="billing_notice_once")]
        indexes = [models.Index(fields=["sent_at"], name="billing_notice_pending_idx", condition=Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
