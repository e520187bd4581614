"""A tenant's people as its settings pages change them: accounts' services (which know
nothing of billing) plus what billing must know — the `agent_seat` gauge.

Each call is one transaction in the organization's schema: the accounts change, then, if
the number of seats (active owners, admins and agents) changed, an `agent_seat` reading
with the new count in the public ledger, keyed by the change's audit entry
(`seat:<org id>:<action>:<audit id>`: a retried or repeated call cannot count twice). A
refusal (the seat limit, a bad role, …) raises accounts' UserRefused and writes nothing."""

from __future__ import annotations

from django.db import transaction
from django_tenants.utils import schema_context

from accounts import selectors as people
from accounts import services as accounts_services
from billing import meters, metrics
from billing.limits import seat_count
from tenants.models import Organization
from tenants.services.glue import mail_context_for, seat_check_for


def seat_key(*, organization: Organization, action: str, change_id: int | str) -> str:
    return f"seat:{organization.pk}:{action}:{change_id}"


def _record_seats(*, organization: Organization, before: int, action: str, target: str) -> bool:
    """After a change in the organization's schema: one reading if the seat count moved."""
    after = seat_count(organization=organization)
    if after == before:
        return False
    change_id = (people.audit_list().filter(action=action, target=target)
                 .order_by("-pk").values_list("pk", flat=True).first())
    return meters.record(organization=organization, metric=metrics.AGENT_SEAT, quantity=after,
                         idempotency_key=seat_key(organization=organization, action=action, change_id=change_id))


def _seat_change(organization: Organization, action: str, change):
    """Run change() (an accounts service returning the user) in the organization's schema,
    then record the seat count if it moved. The callers are atomic: both or neither."""
    with schema_context(organization.schema_name):
        before = seat_count(organization=organization)
        user = change()
        _record_seats(organization=organization, before=before, action=action, target=user.email)
    return user


@transaction.atomic
def agent_invite(*, organization: Organization, email: str, name: str = "", role: str, invited_by, base_url: str):
    """Invite a person (billing's seat limit decides, accounts' welcome e-mail after commit)."""
    return _seat_change(organization, "user.invite", lambda: accounts_services.user_invite(
        email=email, name=name, role=role, invited_by=invited_by,
        seat_check=seat_check_for(organization),
        mail=mail_context_for(organization=organization, base_url=base_url),
    ))


@transaction.atomic
def agent_set_role(*, organization: Organization, user_id: int, role: str, actor):
    """Admin ↔ agent: both hold a seat, so the count (and the ledger) stays as it is."""
    return _seat_change(organization, "user.role",
                        lambda: accounts_services.user_set_role(user_id=user_id, role=role, actor=actor))


@transaction.atomic
def agent_deactivate(*, organization: Organization, user_id: int, actor):
    return _seat_change(organization, "user.deactivate",
                        lambda: accounts_services.user_deactivate(user_id=user_id, actor=actor))


@transaction.atomic
def agent_reactivate(*, organization: Organization, user_id: int, actor):
    """Back to a seat, if the seat limit allows it."""
    return _seat_change(organization, "user.reactivate", lambda: accounts_services.user_reactivate(
        user_id=user_id, actor=actor, seat_check=seat_check_for(organization)))
