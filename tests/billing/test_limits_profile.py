"""A plan, override or tree change reaches check() at once: the cached limits profiles are
dropped by one service (services.limits_profile_forget) — in this process, on the shared
cache, and in every other process through the limits version check() reads."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils import timezone

from billing import limits, meters, periods, selectors, services
from billing.models import Plan
from tenants import services as tenant_services
from tenants.provisioning import ProvisioningError
from tests.billing.conftest import new_key
from tests.factories import OWNER_PASSWORD


def use(org, metric: str, n: int, on_commit) -> None:
    with on_commit():
        meters.record_many([meters.Event(org.pk, metric, 1, new_key()) for _ in range(n)])


@pytest.fixture
def small(db):
    return Plan.objects.create(code="small", name="Small", max_conversations_month=5, max_agents=2)


def update(org, **changes):
    values = {"name": org.name, "kind": org.kind, "parent": org.parent, "plan": org.plan} | changes
    return tenant_services.organization_update(organization=org, **values)


def test_a_plan_change_applies_to_the_next_check(db, tenant, other_tenant, small, on_commit):
    use(tenant, "conversation_started", 5, on_commit)
    use(other_tenant, "conversation_started", 5, on_commit)
    assert limits.check(tenant, "conversation_started").allowed  # professional: 10,000 (profile now cached)
    update(tenant, plan=small)
    result = limits.check(tenant, "conversation_started")
    assert (result.allowed, result.limit) == (False, 5)
    assert limits.check(other_tenant, "conversation_started").limit == 10_000  # B keeps its plan
    update(tenant, plan="professional")
    assert limits.check(tenant, "conversation_started").allowed


def test_another_process_stale_copy_is_not_used(db, tenant, other_tenant, on_commit):
    """The change is made elsewhere: this process still holds its old in-memory copy."""
    assert limits.check(tenant, "message", 100).allowed  # unlimited; the profile is cached here
    assert limits.check(other_tenant, "message", 100).allowed
    stale = dict(selectors._local_profiles)
    with on_commit():
        services.limit_override_set(organization=tenant, metric="message", limit=10)
    selectors._local_profiles.update(stale)  # as if this process never heard of it
    result = limits.check(tenant, "message", 100)
    assert (result.allowed, result.limit) == (False, 10)
    assert limits.check(other_tenant, "message", 100).allowed  # B's copy is still good
    # the seat check reads the version too
    stale = dict(selectors._local_profiles)
    with on_commit():
        services.limit_override_set(organization=tenant, metric="agent_seat", limit=1)
    selectors._local_profiles.update(stale)
    assert not limits.check_agent_seat(tenant).allowed


def test_editing_a_plan_applies_to_every_organization_on_it(db, tenant, other_tenant, small, on_commit):
    update(tenant, plan=small)
    use(tenant, "conversation_started", 4, on_commit)
    use(other_tenant, "conversation_started", 4, on_commit)
    assert limits.check(tenant, "conversation_started").allowed
    small.max_conversations_month = 4
    services.plan_save(plan=small)
    assert not limits.check(tenant, "conversation_started").allowed
    assert limits.check(other_tenant, "conversation_started").allowed  # not on the plan


def test_a_bad_plan_or_change_leaves_the_limits_alone(db, tenant, small):
    assert limits.check(tenant, "conversation_started").limit == 10_000
    small.max_agents = -1
    with pytest.raises(ValidationError):
        services.plan_save(plan=small)
    with pytest.raises(ProvisioningError):
        update(tenant, plan="no-such-plan")
    tenant.refresh_from_db()
    assert tenant.plan.code == "professional"
    assert limits.check(tenant, "conversation_started").limit == 10_000
    assert Plan.objects.get(pk=small.pk).max_agents == 2


def test_moving_under_a_partner_brings_its_cap_at_once(db, tenant, other_tenant, on_commit):
    """beta moves under alpha (a partner whose package caps its tree at 6)."""
    update(tenant, kind="partner")
    with on_commit():
        services.limit_override_set(organization=tenant, metric="conversation_started", limit=6)
    use(tenant, "conversation_started", 3, on_commit)
    use(other_tenant, "conversation_started", 3, on_commit)
    assert limits.check(other_tenant, "conversation_started").allowed  # on its own: 4 of 10,000
    tenant.refresh_from_db()
    assert limits.tree_usage(organization_id=tenant.pk, metric="conversation_started",
                             period=periods.period_of(timezone.now())) == 3  # cached: alpha alone
    update(other_tenant, parent=tenant)
    assert not limits.check(other_tenant, "conversation_started").allowed  # the tree: 6 of 6
    update(other_tenant, parent=None)
    assert limits.check(other_tenant, "conversation_started").allowed


def test_the_plan_admin_saves_through_the_service(db, tenant, small, platform_client, on_commit):
    from django.contrib.auth import get_user_model

    update(tenant, plan=small)
    use(tenant, "conversation_started", 4, on_commit)
    assert limits.check(tenant, "conversation_started").allowed
    get_user_model().objects.create_superuser("op@orbit.localhost", OWNER_PASSWORD)
    platform_client.post("/admin/login/?next=/admin/", {"username": "op@orbit.localhost", "password": OWNER_PASSWORD})
    data = {k: ("" if v is None else v) for k, v in model_to_dict(small).items() if k != "id"}
    data |= {"max_conversations_month": "4", "features": "[]", "is_public": "on"}
    response = platform_client.post(f"/admin/billing/plan/{small.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Plan.objects.get(pk=small.pk).max_conversations_month == 4
    assert not limits.check(tenant, "conversation_started").allowed
