"""The audit log: who did what, from where (each schema's AuditEntry; the public schema's is
the operators' own log). Reads with filters, human labels in both languages, and the
streaming CSV export; writes go through accounts.services.audit_record.

The client's address follows the same rule as the per-IP limits (billing.ratelimit.client_ip:
ORBIT_TRUSTED_PROXY_IP_HEADER, ORBIT_TRUSTED_PROXIES), restated here because accounts sits
below billing."""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import ipaddress
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AuditEntry
from accounts.useragents import describe_user_agent  # noqa: F401  (re-exported: audit pages and sessions)
from orbit.lib.ratelimit.client_ip import client_ip as edge_client_ip

USER_AGENT_MAX = AuditEntry._meta.get_field("user_agent").max_length


# --- where a request comes from ------------------------------------------------------------


def client_ip(request) -> str | None:
    """The client's address as the edge's per-IP limits see it (orbit.lib.ratelimit: the
    trusted proxy header only when configured); None when that is not an IP address."""
    try:
        return str(ipaddress.ip_address(edge_client_ip(request)))
    except ValueError:
        return None


def user_agent(request) -> str:
    raw = request.META.get("HTTP_USER_AGENT") or ""
    # No control characters (NUL, CR/LF) in what admins read and export.
    return "".join(ch for ch in raw if ch.isprintable())[:USER_AGENT_MAX]


def request_meta(request) -> dict:
    """audit_record's `ip` and `user_agent` for this request."""
    if request is None:
        return {}
    return {"ip": client_ip(request), "user_agent": user_agent(request)}


# --- downloads nobody recorded -------------------------------------------------------------------

# The actions recorded during the current request (accounts.middleware sets a list here): a file
# handed out as an attachment is an export, and one no view recorded itself is recorded as such.
written: contextvars.ContextVar[list | None] = contextvars.ContextVar("orbit_audit_written", default=None)
DOWNLOAD_SKIP_PREFIXES = ("/chat/files/", "/api/", "/brand/", "/static/", "/whitelabel/", "/widget/")


def attachment_name(response) -> str | None:
    """The file name of a response handed out as an attachment, or None."""
    disposition = response.get("Content-Disposition", "") if hasattr(response, "get") else ""
    if not disposition.lower().startswith("attachment"):
        return None
    match = re.search(r'filename="?([^";]+)"?', disposition)
    return (match.group(1) if match else "")[:200]


# --- labels ---------------------------------------------------------------------------------

ACTION_LABELS = {
    # people and access
    "login.success": gettext_lazy("Entrada na conta"),
    "login.failure": gettext_lazy("Tentativa de entrada recusada"),
    "login.2fa_failure": gettext_lazy("Código de verificação recusado"),
    "login.2fa_locked": gettext_lazy("Entrada bloqueada após códigos errados"),
    "logout": gettext_lazy("Saída da conta"),
    "session.revoke": gettext_lazy("Sessão encerrada"),
    "session.revoke_all": gettext_lazy("Saída de todas as outras sessões"),
    "2fa.enable": gettext_lazy("Verificação em duas etapas ativada"),
    "2fa.disable": gettext_lazy("Verificação em duas etapas desativada"),
    "2fa.recovery_regenerate": gettext_lazy("Novos códigos de recuperação gerados"),
    "2fa.recovery_used": gettext_lazy("Código de recuperação usado"),
    "2fa.policy": gettext_lazy("Exigência de verificação em duas etapas alterada"),
    "2fa.reset": gettext_lazy("Verificação em duas etapas redefinida por um administrador"),
    "audit.export": gettext_lazy("Auditoria exportada"),
    "export.download": gettext_lazy("Arquivo exportado"),
    "support.enter": gettext_lazy("Acesso de suporte do parceiro"),
    "support.issue": gettext_lazy("Acesso de suporte emitido para um cliente"),
    "user.invite": gettext_lazy("Pessoa convidada"),
    "user.role": gettext_lazy("Papel alterado"),
    "user.deactivate": gettext_lazy("Acesso desativado"),
    "user.reactivate": gettext_lazy("Acesso reativado"),
    "api_token.create": gettext_lazy("Token de API criado"),
    "api_token.revoke": gettext_lazy("Token de API revogado"),
    # brand, domains, partner console
    "brand.update": gettext_lazy("Marca alterada"),
    "brand.reset": gettext_lazy("Marca redefinida"),
    "domain.add": gettext_lazy("Domínio adicionado"),
    "domain.verify": gettext_lazy("Domínio verificado"),
    "domain.remove": gettext_lazy("Domínio removido"),
    "client.create": gettext_lazy("Cliente criado"),
    "client.suspend": gettext_lazy("Cliente suspenso"),
    "client.activate": gettext_lazy("Cliente reativado"),
    "org.create": gettext_lazy("Organização criada"),
    "tenants.suspend": gettext_lazy("Organização suspensa pelo operador"),
    "tenants.reactivate": gettext_lazy("Organização reativada pelo operador"),
    "tenant.data_export": gettext_lazy("Dados da conta exportados"),
    "contact.exported": gettext_lazy("Dados de um contato exportados (LGPD)"),
    "contact.erased": gettext_lazy("Dados de um contato apagados (LGPD)"),
    "privacy.retention_set": gettext_lazy("Prazo de retenção das conversas alterado"),
    "privacy.retention_applied": gettext_lazy("Conversas antigas apagadas pela retenção"),
    "tenant.restored": gettext_lazy("Conta restaurada de um backup"),
    # chat settings
    "chat.inbox.create": gettext_lazy("Caixa de entrada criada"),
    "chat.inbox.update": gettext_lazy("Caixa de entrada alterada"),
    "chat.inbox.delete": gettext_lazy("Caixa de entrada excluída"),
    "chat.team.create": gettext_lazy("Equipe criada"),
    "chat.team.update": gettext_lazy("Equipe alterada"),
    "chat.team.delete": gettext_lazy("Equipe excluída"),
    "chat.label.create": gettext_lazy("Etiqueta criada"),
    "chat.label.update": gettext_lazy("Etiqueta alterada"),
    "chat.label.delete": gettext_lazy("Etiqueta excluída"),
    "chat.canned_response.create": gettext_lazy("Resposta pronta criada"),
    "chat.canned_response.update": gettext_lazy("Resposta pronta alterada"),
    "chat.canned_response.delete": gettext_lazy("Resposta pronta excluída"),
    # billing (the operator's and the owner's)
    "billing.invoice.paid": gettext_lazy("Fatura marcada como paga"),
    "billing.invoice.void": gettext_lazy("Fatura anulada"),
    "billing.invoice.uncollectible": gettext_lazy("Fatura marcada como incobrável"),
    "billing.invoice.resend": gettext_lazy("Fatura reenviada"),
    "billing.credit_note": gettext_lazy("Nota de crédito emitida"),
    "billing.credit.grant": gettext_lazy("Crédito concedido"),
    "billing.plan.upgrade": gettext_lazy("Plano melhorado"),
    "billing.plan.downgrade": gettext_lazy("Plano reduzido"),
    "billing.plan.change": gettext_lazy("Plano alterado"),
    "billing.plan.interval": gettext_lazy("Periodicidade do plano alterada"),
    "billing.plan.cycle": gettext_lazy("Periodicidade do plano alterada"),
    "billing.plan.same": gettext_lazy("Plano mantido"),
    "billing.plan.cancel_scheduled": gettext_lazy("Mudança de plano agendada cancelada"),
    "billing.adjustment": gettext_lazy("Ajuste de cobrança"),
    "billing.subscription.cancel": gettext_lazy("Assinatura cancelada"),
    "billing.subscription.resume": gettext_lazy("Assinatura retomada"),
    "billing.price_override": gettext_lazy("Preço de contrato definido"),
    "billing.trial.extend": gettext_lazy("Período de teste estendido"),
    # the operator's admin (accounts.middleware records every change made there)
    "admin.add": gettext_lazy("Operador: registro criado"),
    "admin.change": gettext_lazy("Operador: registro alterado"),
    "admin.delete": gettext_lazy("Operador: registro excluído"),
    "admin.action": gettext_lazy("Operador: ação em lote"),
    "admin.other": gettext_lazy("Operador: outra ação no painel"),
}

# The filter's groups: a prefix each.
ACTION_GROUPS = {
    "access": (gettext_lazy("Entradas e sessões"), ("login.", "logout", "session.")),
    "2fa": (gettext_lazy("Verificação em duas etapas"), ("2fa.",)),
    "people": (gettext_lazy("Pessoas e tokens"), ("user.", "api_token.", "support.")),
    "settings": (gettext_lazy("Configurações"), ("brand.", "domain.", "chat.", "client.", "org.", "tenant.",
                                                  "tenants.",
                                                  "privacy.")),
    "billing": (gettext_lazy("Cobrança"), ("billing.",)),
    "operator": (gettext_lazy("Operador da plataforma"), ("admin.",)),
    "exports": (gettext_lazy("Exportações"), ("audit.export", "export.", "tenant.data_export", "contact.exported")),
    "deletions": (gettext_lazy("Exclusões"), (
        "admin.delete", "contact.erased", "privacy.retention_applied", "domain.remove", "chat.inbox.delete",
        "chat.team.delete", "chat.label.delete", "chat.canned_response.delete", "api_token.revoke", "user.deactivate",
        "session.revoke", "2fa.disable", "2fa.reset",
    )),
}


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    if label is not None:
        return str(label)
    # A code this list does not know yet (a new action elsewhere): its group, and the code.
    for group_label, prefixes in ACTION_GROUPS.values():
        if any(action.startswith(prefix) for prefix in prefixes):
            return _("%(group)s: %(code)s") % {"group": group_label, "code": action}
    return action


# --- reads ------------------------------------------------------------------------------------


class AuditFilterError(ValueError):
    """A filter value was refused; the message is for the person who asked."""


@dataclass(frozen=True)
class AuditFilter:
    group: str = ""
    actor: str = ""
    text: str = ""
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def active(self) -> bool:
        return bool(self.group or self.actor or self.text or self.start or self.end)

    def query(self) -> str:
        from urllib.parse import urlencode

        pairs = {
            "group": self.group, "actor": self.actor, "q": self.text,
            "start": self.start.isoformat() if self.start else "", "end": self.end.isoformat() if self.end else "",
        }
        return urlencode({k: v for k, v in pairs.items() if v})


FILTER_TEXT_MAX = 200
EARLIEST = dt.date(2000, 1, 1)


def _clean_text(value: str, name: str) -> str:
    value = " ".join((value or "").split())
    if any(not ch.isprintable() for ch in value) or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise AuditFilterError(_("O filtro “%(name)s” contém caracteres inválidos.") % {"name": name})
    if len(value) > FILTER_TEXT_MAX:
        raise AuditFilterError(_("O filtro “%(name)s” é longo demais.") % {"name": name})
    return value


def _clean_date(value: str, name: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise AuditFilterError(_("Data inválida em “%(name)s”: use AAAA-MM-DD.") % {"name": name}) from None
    today = timezone.localdate()
    if day < EARLIEST or day > today + dt.timedelta(days=1):
        raise AuditFilterError(_("Data fora do intervalo em “%(name)s”.") % {"name": name})
    return day


def audit_filter_parse(params) -> AuditFilter:
    """An AuditFilter from query parameters (group, actor, q, start, end). Raises
    AuditFilterError with a message for the person for any value it cannot use."""
    group = (params.get("group") or "").strip()
    if group and group not in ACTION_GROUPS:
        raise AuditFilterError(_("Tipo de registro desconhecido."))
    start = _clean_date(params.get("start", ""), _("de"))
    end = _clean_date(params.get("end", ""), _("até"))
    if start and end and start > end:
        raise AuditFilterError(_("A data inicial é posterior à final."))
    return AuditFilter(
        group=group, actor=_clean_text(params.get("actor", ""), _("quem")), text=_clean_text(params.get("q", ""), _("busca")),
        start=start, end=end,
    )


def audit_entries(*, filters: AuditFilter | None = None) -> QuerySet[AuditEntry]:
    """The current schema's entries, newest first, narrowed by `filters`."""
    qs = AuditEntry.objects.all()
    if filters is None:
        return qs
    if filters.group:
        _label, prefixes = ACTION_GROUPS[filters.group]
        condition = Q()
        for prefix in prefixes:
            condition |= Q(action__startswith=prefix)
        qs = qs.filter(condition)
    if filters.actor:
        qs = qs.filter(Q(actor_email__icontains=filters.actor) | Q(actor_label__icontains=filters.actor))
    if filters.text:
        text = filters.text
        condition = Q(target__icontains=text) | Q(action__icontains=text) | Q(tenant__icontains=text)
        if _looks_like_ip_prefix(text):
            condition |= Q(ip__startswith=text)
        qs = qs.filter(condition)
    tz = timezone.get_current_timezone()
    if filters.start:
        qs = qs.filter(created_at__gte=dt.datetime.combine(filters.start, dt.time.min, tzinfo=tz))
    if filters.end:
        qs = qs.filter(created_at__lt=dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    return qs


def _looks_like_ip_prefix(text: str) -> bool:
    return bool(text) and all(ch in "0123456789abcdefABCDEF.:" for ch in text)


def group_choices() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, (label, _prefixes) in ACTION_GROUPS.items()]


# --- the CSV export -----------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    text = "" if value is None else str(value)
    text = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    # A spreadsheet must not run a stored value as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_header() -> list[str]:
    return [_("quando (UTC)"), _("ação"), _("descrição"), _("quem"), _("origem"), _("alvo"), _("IP"),
            _("navegador"), _("organização"), _("detalhes")]


def csv_lines(entries):
    """The export's lines (a BOM, the header, one line per entry), produced lazily."""
    import json

    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow(csv_header())
    for entry in entries.iterator(chunk_size=500):
        yield writer.writerow([
            _cell(entry.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")),
            _cell(entry.action), _cell(action_label(entry.action)), _cell(entry.actor_email), _cell(entry.actor_label),
            _cell(entry.target), _cell(entry.ip), _cell(entry.user_agent), _cell(entry.tenant),
            _cell(json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""),
        ])
