"""Operator admin for the money side: subscriptions (contract price, trial), invoices (mark
paid, void, uncollectible, resend, credit note), credits, add-ons and discounts, partners'
price lists, notices. Every action goes through a billing service (audited in the
organization's log with the operator's name) after a confirmation page that says what it
will do."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing import documents, periods, pricing, services
from billing.models import Adjustment, BillingNotice, CreditEntry, Invoice, InvoiceLine, PartnerPricing, Subscription
from orbit.lib.admin import ReadOnlyAdminMixin, titled_filter


def _confirm(modeladmin, request, queryset, *, action: str, title: str, consequence: str, run) -> TemplateResponse | None:
    """Ask first (a page that states the consequence), then run `run(obj)` per object."""
    if request.POST.get("confirmed") != "yes":
        return TemplateResponse(request, "admin/billing/confirm_action.html", {
            **modeladmin.admin_site.each_context(request), "title": title, "consequence": consequence,
            "objects": list(queryset), "action": action, "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })
    done = 0
    for obj in queryset:
        try:
            run(obj)
        except services.BillingError as refused:
            modeladmin.message_user(request, f"{obj}: {refused}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, _("%(title)s: %(n)s feito(s).") % {"title": title, "n": done}, messages.SUCCESS)
    return None


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = ["price_override"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["organization", "plan", "cycle", "status", "current_period_end", "price_override",
                    "cancel_at_period_end", "trial_ends_at"]
    list_filter = ["status", "cycle", "plan", "cancel_at_period_end"]
    search_fields = ["organization__slug", "organization__name"]
    list_select_related = ["organization", "plan"]
    readonly_fields = ["organization", "plan", "cycle", "status", "trial_ends_at", "current_period_start",
                       "current_period_end", "cancel_at_period_end", "scheduled_plan", "scheduled_cycle",
                       "payment_method", "past_due_since", "stripe_customer_id", "created_at", "updated_at"]
    actions = ["extend_trial"]

    def has_add_permission(self, request):
        return False  # made with the organization

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "price_override" in form.changed_data:
            try:
                services.subscription_set_price_override(organization=obj.organization,
                                                         price=form.cleaned_data["price_override"],
                                                         actor=request.user)
            except services.BillingError as refused:
                self.message_user(request, str(refused), messages.ERROR)

    @admin.action(description=gettext_lazy("Estender o teste em 7 dias"))
    def extend_trial(self, request, queryset):
        return _confirm(self, request, queryset, action="extend_trial", title=_("Estender o teste em 7 dias"),
                        consequence=_("O fim do teste de cada assinatura escolhida passa 7 dias adiante; a cobrança "
                                      "começa depois disso."),
                        run=lambda s: services.subscription_extend_trial(organization=s.organization, days=7,
                                                                         actor=request.user))


class InvoiceLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InvoiceLine
    fields = ["description", "kind", "quantity", "unit_price", "amount", "list_amount", "client"]
    readonly_fields = fields
    extra = 0


class CreditNoteForm(forms.Form):
    amount = forms.CharField(label=gettext_lazy("Valor (R$)"), max_length=20)
    reason = forms.CharField(label=gettext_lazy("Motivo"), max_length=150)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "customer_name", "issuer_name", "period_label", "kind", "status", "total_brl",
                    "amount_due_brl", "due_at"]
    list_filter = ["status", "kind", "period", "issuer"]
    search_fields = ["number", "customer_name", "organization__slug"]
    date_hierarchy = "issued_at"
    inlines = [InvoiceLineInline]
    actions = ["mark_paid", "void", "mark_uncollectible", "resend"]
    change_form_template = "admin/billing/invoice_change_form.html"

    @admin.display(description=gettext_lazy("período"), ordering="period")
    def period_label(self, obj):
        return periods.label(obj.period)

    @admin.display(description=gettext_lazy("total"), ordering="total")
    def total_brl(self, obj):
        return pricing.format_brl(obj.total)

    @admin.display(description=gettext_lazy("a pagar"), ordering="amount_due")
    def amount_due_brl(self, obj):
        return pricing.format_brl(obj.amount_due)

    def has_change_permission(self, request, obj=None):
        return request.method == "GET"  # shown, with its actions; never edited by hand

    @admin.action(description=gettext_lazy("Marcar como paga"))
    def mark_paid(self, request, queryset):
        return _confirm(self, request, queryset, action="mark_paid", title=_("Marcar como paga"),
                        consequence=_("Registra o pagamento manual. Uma conta em atraso ou suspensa só por estas "
                                      "faturas volta a ficar ativa na hora."),
                        run=lambda i: services.invoice_mark_paid(invoice=i, reference="manual", actor=request.user))

    @admin.action(description=gettext_lazy("Anular"))
    def void(self, request, queryset):
        return _confirm(self, request, queryset, action="void", title=_("Anular"),
                        consequence=_("A fatura deixa de ser cobrada (o número fica, como anulada) e os créditos "
                                      "que ela usou voltam ao saldo do cliente."),
                        run=lambda i: services.invoice_void(invoice=i, actor=request.user, reason="admin"))

    @admin.action(description=gettext_lazy("Dar como incobrável"))
    def mark_uncollectible(self, request, queryset):
        return _confirm(self, request, queryset, action="mark_uncollectible", title=_("Dar como incobrável"),
                        consequence=_("A fatura sai da cobrança automática; ainda pode ser marcada como paga."),
                        run=lambda i: services.invoice_mark_uncollectible(invoice=i, actor=request.user))

    @admin.action(description=gettext_lazy("Reenviar por e-mail"))
    def resend(self, request, queryset):
        return _confirm(self, request, queryset, action="resend", title=_("Reenviar por e-mail"),
                        consequence=_("Os responsáveis pela conta recebem a fatura de novo, com a marca dela."),
                        run=lambda i: services.invoice_resend(invoice=i, actor=request.user))

    def get_urls(self):
        return [path("<int:invoice_id>/credit-note/", self.admin_site.admin_view(self.credit_note_view),
                     name="billing_invoice_credit_note"),
                path("<int:invoice_id>/pdf/", self.admin_site.admin_view(self.pdf_view),
                     name="billing_invoice_pdf")] + super().get_urls()

    def pdf_view(self, request, invoice_id: int):
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        response = HttpResponse(documents.invoice_pdf(invoice, brand_name=invoice.issuer_name),
                                content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response

    def credit_note_view(self, request, invoice_id: int):
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        form = CreditNoteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                note = services.credit_note_issue(invoice=invoice, amount=form.cleaned_data["amount"],
                                                  reason=form.cleaned_data["reason"], actor=request.user)
            except services.BillingError as refused:
                form.add_error("amount", str(refused))
            else:
                self.message_user(request, _("Nota de crédito %(number)s emitida; o valor virou crédito do cliente.")
                                  % {"number": note.number}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))
        return TemplateResponse(request, "admin/billing/credit_note.html", {
            **self.admin_site.each_context(request), "title": _("Nota de crédito para %(number)s") % {
                "number": invoice.number}, "invoice": invoice, "form": form, "opts": Invoice._meta})


class AmountField(forms.CharField):
    """Reais as people type them ("25,5"); billing.pricing.parse_amount's refusals as errors."""

    def __init__(self, *, allow_negative: bool = False, **kwargs):
        self.allow_negative = allow_negative
        super().__init__(max_length=20, **kwargs)

    def clean(self, value):
        try:
            return str(pricing.parse_amount(super().clean(value), allow_negative=self.allow_negative))
        except pricing.AmountError as refused:
            raise forms.ValidationError(str(refused)) from None


class CreditGrantForm(forms.ModelForm):
    amount = AmountField(label=gettext_lazy("Valor (R$)"))

    class Meta:
        model = CreditEntry
        fields = ["organization", "amount", "note"]


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    form = CreditGrantForm
    list_display = ["organization", "kind", "amount_brl", "invoice_number", "note", "actor_email", "created_at"]
    list_filter = ["kind"]

    @admin.display(description=gettext_lazy("valor"), ordering="amount")
    def amount_brl(self, obj):
        return pricing.format_brl(obj.amount)

    @admin.display(description=gettext_lazy("fatura"))
    def invoice_number(self, obj):
        return obj.invoice or "—"
    search_fields = ["organization__slug", "organization__name", "note"]
    list_select_related = ["organization", "invoice"]
    raw_id_fields = ["organization"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)  # a ledger: grants are added, never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            entry = services.credit_grant(organization=form.cleaned_data["organization"],
                                          amount=form.cleaned_data["amount"], note=form.cleaned_data["note"],
                                          actor=request.user)
        except services.BillingError as refused:
            raise forms.ValidationError(str(refused)) from None
        obj.pk = entry.pk



class AdjustmentForm(forms.ModelForm):
    amount = AmountField(label=gettext_lazy("Valor (R$; negativo = desconto)"), allow_negative=True)

    class Meta:
        model = Adjustment
        fields = ["organization", "description", "amount"]


@admin.register(Adjustment)
class AdjustmentAdmin(admin.ModelAdmin):
    form = AdjustmentForm
    list_display = ["organization", "description", "amount", "invoice", "actor_email", "created_at"]
    search_fields = ["organization__slug", "description"]
    raw_id_fields = ["organization"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


    def save_model(self, request, obj, form, change):
        saved = services.adjustment_add(organization=form.cleaned_data["organization"],
                                        description=form.cleaned_data["description"],
                                        amount=form.cleaned_data["amount"], actor=request.user)
        obj.pk = saved.pk


@admin.register(PartnerPricing)
class PartnerPricingAdmin(admin.ModelAdmin):
    list_display = ["partner", "wholesale_discount_percent", "retail_prices_text"]

    @admin.display(description=gettext_lazy("preços de varejo"))
    def retail_prices_text(self, obj):
        """{"starter": "149.00"} as "starter: R$ 149,00" (never raw JSON)."""
        prices = obj.retail_prices or {}
        return " · ".join(f"{code}: {pricing.format_brl(price)}" for code, price in sorted(prices.items())) or "—"
    search_fields = ["partner__slug", "partner__name"]
    raw_id_fields = ["partner"]


# Shown in the operator's language (the model's own names are not translated; issue 14).
BillingNotice._meta.verbose_name = gettext_lazy("aviso de cobrança")
BillingNotice._meta.verbose_name_plural = gettext_lazy("avisos de cobrança")


@admin.register(BillingNotice)
class BillingNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["kind_label", "organization_name", "invoice_number", "created_at_label", "sent_at_label",
                    "attempts_n"]
    list_filter = [titled_filter("kind", gettext_lazy("tipo")),
                   titled_filter("sent_at", gettext_lazy("enviado"), admin.EmptyFieldListFilter)]
    search_fields = ["organization__slug", "key"]
    list_select_related = ["organization", "invoice"]

    @admin.display(description=gettext_lazy("tipo"), ordering="kind")
    def kind_label(self, obj):
        return obj.get_kind_display()

    @admin.display(description=gettext_lazy("organização"), ordering="organization__name")
    def organization_name(self, obj):
        return obj.organization

    @admin.display(description=gettext_lazy("fatura"))
    def invoice_number(self, obj):
        return obj.invoice or "—"

    @admin.display(description=gettext_lazy("criado em"), ordering="created_at")
    def created_at_label(self, obj):
        return obj.created_at

    @admin.display(description=gettext_lazy("enviado em"), ordering="sent_at")
    def sent_at_label(self, obj):
        return obj.sent_at or "—"

    @admin.display(description=gettext_lazy("tentativas"), ordering="attempts")
    def attempts_n(self, obj):
        return obj.attempts
