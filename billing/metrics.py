"""Metric names, their kind, and which plan limit caps each of them.

A limit of None means unlimited, everywhere: use `is_unlimited()` rather than testing
for None by hand, so the convention stays explicit."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

CONVERSATION_STARTED = "conversation_started"
MESSAGE = "message"
AGENT_SEAT = "agent_seat"
STORAGE_BYTES = "storage_bytes"
API_CALL = "api_call"

COUNTER = "counter"  # a period's value is the sum of its events
GAUGE = "gauge"  # each event is a reading; the period keeps its max (peak) and last value

KINDS: dict[str, str] = {
    CONVERSATION_STARTED: COUNTER,
    MESSAGE: COUNTER,
    AGENT_SEAT: GAUGE,
    STORAGE_BYTES: GAUGE,
    API_CALL: COUNTER,
}
METRICS: tuple[str, ...] = tuple(KINDS)
GAUGES: tuple[str, ...] = tuple(m for m, k in KINDS.items() if k == GAUGE)
COUNTERS: tuple[str, ...] = tuple(m for m, k in KINDS.items() if k == COUNTER)

# Plan field holding each metric's quota; a metric not listed has no plan quota
# (unlimited unless an operator override says otherwise).
PLAN_LIMIT_FIELDS: dict[str, str] = {
    CONVERSATION_STARTED: "max_conversations_month",
    AGENT_SEAT: "max_agents",
    STORAGE_BYTES: "storage_bytes",
}

LABELS = {
    CONVERSATION_STARTED: _("Conversas no mês"),
    MESSAGE: _("Mensagens no mês"),
    AGENT_SEAT: _("Agentes"),
    STORAGE_BYTES: _("Armazenamento"),
    API_CALL: _("Chamadas de API no mês"),
}

CHOICES = [(m, LABELS[m]) for m in METRICS]

UNLIMITED = None


def is_unlimited(limit: int | None) -> bool:
    return limit is UNLIMITED


def is_gauge(metric: str) -> bool:
    return KINDS[metric] == GAUGE


def validate(metric: str) -> str:
    if metric not in KINDS:
        raise ValueError(f"unknown metric {metric!r} (metrics: {', '.join(METRICS)})")
    return metric
