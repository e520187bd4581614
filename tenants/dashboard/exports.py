"""Every table of the dashboard as CSV: machine values (ISO dates, a decimal point, no
grouping), so a spreadsheet in any language reads them; headers in the active language."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants.dashboard.figures import Figures
from tenants.dashboard.health import Health


def _s(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def summary(f: Figures, h: Health) -> tuple[list, list]:
    rows = [
        ("period_start", _("início do período"), f.period.start), ("period_end", _("fim do período"), f.period.end),
        ("snapshot_day", _("dia da fotografia"), f.snapshot.day if f.snapshot else None),
        ("tenants", _("organizações"), f.snapshot.tenants if f.snapshot else 0),
        ("new_tenants", _("novas organizações"), f.new_tenants), ("churned_tenants", _("canceladas"), f.churned_tenants),
        ("active_agents_1d", _("agentes ativos em 24 h"), f.snapshot.active_agents_1d if f.snapshot else 0),
        ("active_agents_7d", _("agentes ativos em 7 dias"), f.snapshot.active_agents_7d if f.snapshot else 0),
        ("active_agents_30d", _("agentes ativos em 30 dias"), f.snapshot.active_agents_30d if f.snapshot else 0),
        ("messages", _("mensagens"), f.messages), ("conversations", _("conversas"), f.conversations),
        ("visitors", _("visitantes"), f.visitors),
        ("mrr", _("MRR"), f.mrr), ("arr", _("ARR"), f.arr), ("mrr_start", _("MRR no início"), f.mrr_start),
        ("customers", _("clientes pagantes"), f.customers), ("arpa", _("ARPA"), f.arpa),
        ("nrr", _("NRR"), f.cohort.nrr), ("grr", _("GRR"), f.cohort.grr),
        ("revenue_churn", _("churn de receita"), f.cohort.revenue_churn),
        ("logo_churn", _("churn de clientes"), f.cohort.logo_churn), ("ltv", _("LTV"), f.ltv),
        ("acquisition_cost", _("custo de aquisição"), f.acquisition_cost), ("cac", _("CAC"), f.cac),
        ("trial_conversion", _("conversão teste → pago"), f.trial_conversion),
        ("trials_converted", _("testes convertidos"), f.trials_converted), ("trials_lost", _("testes perdidos"), f.trials_lost),
        ("overdue_amount", _("valor em atraso"), h.overdue_amount), ("overdue_invoices", _("faturas em atraso"), h.overdue_invoices),
    ]
    return [_("chave"), _("indicador"), _("valor")], [[k, str(label), _s(v)] for k, label, v in rows]


def tenants_by_status(f: Figures, h: Health):
    data = f.snapshot.by_status if f.snapshot else {}
    return [_("situação"), _("organizações")], [[k, v] for k, v in sorted(data.items())]


def tenants_by_kind(f: Figures, h: Health):
    data = f.snapshot.by_kind if f.snapshot else {}
    return [_("tipo"), _("organizações")], [[k, v] for k, v in sorted(data.items())]


def movements(f: Figures, h: Health):
    return [_("movimento"), _("valor")], [[key, _s(amount)] for key, _label, amount in f.movements.rows()] + [
        ["net", _s(f.movements.net)]]


def daily(f: Figures, h: Health):
    header = [_("dia"), _("organizações"), _("mensagens"), _("conversas"), _("visitantes"), _("agentes ativos em 24 h"),
              _("agentes ativos em 7 dias"), _("agentes ativos em 30 dias"), _("MRR"), _("clientes pagantes"),
              _("MRR novo"), _("MRR de expansão"), _("MRR de contração"), _("MRR cancelado"), _("MRR reativado"),
              _("novas"), _("canceladas")]
    rows = [[_s(d.day), d.tenants, d.messages, d.conversations, d.visitors, d.active_agents_1d, d.active_agents_7d,
             d.active_agents_30d, _s(d.mrr), d.customers, _s(d.mrr_new), _s(d.mrr_expansion), _s(d.mrr_contraction),
             _s(d.mrr_churn), _s(d.mrr_reactivation), d.new_tenants, d.churned_tenants] for d in f.days]
    return header, rows


def _tenant_rows(rows):
    return [[r["organization_id"], r["slug"], r["name"], r["kind"], r["status"], r["plan_code"], _s(r["mrr"]),
             _s(r["limit_percent"])] for r in rows]


TENANT_HEADER = ["id", "slug", gettext_lazy("nome"), gettext_lazy("tipo"), gettext_lazy("situação"),
                 gettext_lazy("plano"), "MRR", gettext_lazy("maior uso de limite (%)")]


def top_tenants(f: Figures, h: Health):
    return [str(c) for c in TENANT_HEADER], _tenant_rows(f.top_tenants)


def near_limit(f: Figures, h: Health):
    return [str(c) for c in TENANT_HEADER], _tenant_rows(f.near_limit)


def top_partners(f: Figures, h: Health):
    return (["id", "slug", _("nome"), _("plano"), _("MRR próprio"), _("MRR dos clientes"), _("clientes"), _("MRR total")],
            [[r["organization_id"], r["slug"], r["name"], r["plan_code"], _s(r["own_mrr"]), _s(r["clients_mrr"]),
              r["clients"], _s(r["mrr"])] for r in f.top_partners])


def health(f: Figures, h: Health):
    rows = [
        ("postgres_ok", h.postgres_ok), ("postgres_ms", h.postgres_ms), ("redis_ok", h.redis_ok), ("redis_ms", h.redis_ms),
        ("queue_length", h.queue_length), ("queue_oldest_seconds", h.queue_oldest_seconds),
        ("pool_size", h.pool_size), ("pool_target", h.pool_target), ("open_alerts", h.open_alerts),
        ("failed_payments", h.failed_payments), ("overdue_invoices", h.overdue_invoices),
        ("overdue_amount", h.overdue_amount), ("last_billing_run", h.last_billing_run),
        ("last_billed_period", h.last_billed_period), ("last_snapshot", h.last_snapshot),
        ("last_backup", h.last_backup),
        ("near_limit", f.snapshot.near_limit if f.snapshot else None),
        ("at_limit", f.snapshot.at_limit if f.snapshot else None),
    ]
    return [_("chave"), _("valor")], [[k, _s(v)] for k, v in rows]


TABLES: dict[str, Callable] = {
    "summary": summary, "tenants-by-status": tenants_by_status, "tenants-by-kind": tenants_by_kind,
    "movements": movements, "daily": daily, "top-tenants": top_tenants, "top-partners": top_partners,
    "near-limit": near_limit, "health": health,
}


def csv_text(table: str, figures: Figures, health_: Health) -> str:
    """Raises KeyError for an unknown table."""
    header, rows = TABLES[table](figures, health_)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(h) for h in header])
    writer.writerows(rows)
    return out.getvalue()
