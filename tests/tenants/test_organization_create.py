import pytest
from django.contrib.auth import get_user_model
from django.db import DataError, connection
from django_tenants.utils import schema_context, schema_exists

from tenants import provisioning
from tenants.models import Domain, Organization, PoolSchema
from tenants.provisioning import ProvisioningError
from tenants.services import organization_create
from tests.conftest import host_client


def _footprint():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.schemata")
        schemas = cursor.fetchone()[0]
    return schemas, Organization.objects.count(), Domain.objects.count(), PoolSchema.objects.count()


def test_pool_hit_renames_a_pooled_schema(live_db):
    assert provisioning.pool_refill(size=1) == 1
    pooled = PoolSchema.objects.get().schema_name
    org = organization_create(name="Loja Pool", plan="starter", owner_email="dona@pool.test", owner_password="s3nha-boa-123")
    assert not schema_exists(pooled)
    assert schema_exists(org.schema_name) and org.schema_name == "t_loja_pool"
    assert PoolSchema.objects.count() == 0
    with schema_context(org.schema_name):
        owner = get_user_model().objects.get()
    assert owner.email == "dona@pool.test" and owner.role == "owner"
    assert host_client("loja-pool.localhost").get("/accounts/login/").status_code == 200


def test_empty_pool_falls_back_to_a_template_clone(live_db):
    assert PoolSchema.objects.count() == 0
    org = organization_create(name="Clone Ltda", plan="business", kind="partner")
    assert schema_exists(org.schema_name)
    assert org.domains.get(is_primary=True).domain == "clone-ltda.localhost"
    assert org.kind == "partner" and org.plan.code == "business" and org.status == "trial"


def test_custom_domain_routes_to_the_tenant(live_db):
    org = organization_create(name="Dominio", plan="starter", domain="chat.dominio.com.br")
    response = host_client("chat.dominio.com.br").get("/accounts/login/")
    assert response.status_code == 200 and org.name in response.content.decode()


@pytest.mark.parametrize("use_pool", [False, True])
def test_a_failure_late_in_creation_leaves_nothing_behind(live_db, use_pool):
    if use_pool:
        provisioning.pool_refill(size=1)
    before = _footprint()
    with pytest.raises(DataError):
        # the owner's name overflows its column: fails after schema, organization and domain exist
        organization_create(name="Quebra", plan="starter", owner_name="x" * 400, use_pool=use_pool)
    assert _footprint() == before  # the claimed pool schema went back to the pool
    assert not schema_exists("t_quebra")
    assert not Organization.objects.filter(slug="quebra").exists()
    assert not Domain.objects.filter(domain="quebra.localhost").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slug": "Bad Slug!"}, "invalid slug"),
        ({"slug": "ab"}, "invalid slug"),
        ({"slug": "alpha"}, "already exists"),
        ({"slug": "admin"}, "reserved"),
        ({"plan": "gold"}, "unknown plan"),
        ({"parent": "nobody"}, "unknown parent"),
        ({"parent": "alpha"}, "only partners and holdings"),
        ({"domain": "alpha.localhost"}, "already in use"),
        ({"domain": "not a host"}, "invalid domain"),
        ({"kind": "empire"}, "invalid kind"),
        ({"owner_email": "not-an-email"}, "invalid owner e-mail"),
        ({"name": "   "}, "name is required"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_made(db, tenant, kwargs, message):
    before = _footprint()
    params = {"name": "Nova Empresa", "plan": "starter", "use_pool": False} | kwargs
    with pytest.raises(ProvisioningError, match=message):
        organization_create(**params)
    assert _footprint() == before


def test_partner_children_are_linked(live_db):
    partner = organization_create(name="Revenda", plan="white-label", kind="partner")
    child = organization_create(name="Cliente da Revenda", plan="starter", parent="revenda")
    assert child.parent == partner
    assert list(partner.children.all()) == [child]
