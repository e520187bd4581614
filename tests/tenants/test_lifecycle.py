import pytest
from django_tenants.utils import schema_exists

from tenants.models import Domain, Organization
from tenants.provisioning import ProvisioningError
from tenants.services import (
    organization_activate,
    organization_create,
    organization_delete,
    organization_set_status,
    organization_suspend,
)
from tests.conftest import host_client


def test_status_moves_through_the_lifecycle(live_db, tenant):
    for status in ("trial", "active", "past_due", "suspended", "cancelled", "active"):
        org = organization_set_status(organization=tenant, status=status)
        assert org.status == status
        assert Organization.objects.get(pk=tenant.pk).status == status
    assert Organization.objects.get(pk=tenant.pk).status_changed_at is not None


def test_an_invalid_status_changes_nothing(db, tenant):
    with pytest.raises(ProvisioningError, match="invalid status"):
        organization_set_status(organization=tenant, status="frozen")
    assert Organization.objects.get(pk=tenant.pk).status == "active"


def test_cancelled_and_past_due(live_db, tenant):
    client = host_client("alpha.localhost")
    organization_set_status(organization=tenant, status="past_due")
    assert client.get("/accounts/login/").status_code == 200  # still served, billing nags
    organization_set_status(organization=tenant, status="cancelled")
    assert client.get("/accounts/login/").status_code == 403
    organization_activate(organization=tenant)


def test_suspending_one_tenant_leaves_the_other_alone(live_db, tenant, other_tenant):
    organization_suspend(organization=tenant)
    assert Organization.objects.get(pk=other_tenant.pk).status == "active"
    assert host_client("beta.localhost").get("/accounts/login/").status_code == 200


def test_delete_drops_schema_domains_and_row(live_db):
    org = organization_create(name="Temporaria", plan="starter", use_pool=False)
    client = host_client("temporaria.localhost")
    assert client.get("/accounts/login/").status_code == 200  # now cached
    organization_delete(organization=org)
    assert not schema_exists(org.schema_name)
    assert not Organization.objects.filter(slug="temporaria").exists()
    assert not Domain.objects.filter(domain="temporaria.localhost").exists()
    assert client.get("/accounts/login/").status_code == 404  # cache invalidated


def test_a_partner_with_clients_cannot_be_deleted(live_db):
    partner = organization_create(name="Parceira", plan="white-label", kind="partner", use_pool=False)
    organization_create(name="Filha", plan="starter", parent=partner, use_pool=False)
    with pytest.raises(ProvisioningError, match="sub-organizations"):
        organization_delete(organization=partner)
    assert schema_exists(partner.schema_name)
