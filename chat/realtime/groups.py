"""Every channel-layer group name, in one place, always with the tenant.

Group names are global on the shared Redis: without the organization in the name,
tenant A's conversation 7 and tenant B's conversation 7 would share a group."""

from __future__ import annotations


def _org_id(organization) -> int:
    return organization.pk


def conversation(organization, conversation_id: int) -> str:
    """Agents watching one conversation: messages (private notes included), typing, read."""
    return f"t{_org_id(organization)}.conv.{conversation_id}"


def agents(organization) -> str:
    """Every agent socket of the tenant: conversation list updates, presence."""
    return f"t{_org_id(organization)}.agents"


def visitor(organization, contact_id: int) -> str:
    """Every widget socket of one contact: only that contact's conversations, never notes."""
    return f"t{_org_id(organization)}.visitor.{contact_id}"
