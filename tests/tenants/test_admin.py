"""The operator's admin on the platform host: organizations, operators, the warm pool."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse as _reverse
from django_tenants.utils import schema_context, schema_exists

from tenants import provisioning
from tenants.models import Domain, Organization, PoolSchema
from tenants.services import organization_create
from tests.conftest import host_client
from tests.factories import OWNER_PASSWORD, owner_email

OPERATOR_EMAIL = "ops@orbit.example.com"
CHANGELIST = "/admin/tenants/organization/"
ADD = "/admin/tenants/organization/add/"


def reverse(name, args=None):
    """Admin URLs live in the platform host's urlconf."""
    return _reverse(name, args=args, urlconf="orbit.urls_public")


def operator_client(**extra):
    get_user_model().objects.create_superuser(OPERATOR_EMAIL, OWNER_PASSWORD, **extra)
    client = host_client("localhost")
    assert client.login(email=OPERATOR_EMAIL, password=OWNER_PASSWORD)
    return client


@pytest.fixture
def operator(db):
    return operator_client()


@pytest.fixture
def live_operator(live_db):
    return operator_client()


def _host(org) -> str:
    return org.domains.get(is_primary=True).domain


def _add_payload(**overrides):
    data = {
        "name": "Gama Atendimento",
        "slug": "gama",
        "kind": Organization.Kind.COMPANY,
        "parent": "",
        "plan": _plan_pk("starter"),
        "status": Organization.Status.TRIAL,
        "domain": "",
        "owner_email": "dona@gama.example.com",
        "owner_password": "Gama-senha-forte-42",
    }
    data.update(overrides)
    return data


def _plan_pk(code):
    from billing.models import Plan

    return Plan.objects.get(code=code).pk


def _footprint():
    with_schema = lambda prefix: sorted(  # noqa: E731
        s for s in _schemas() if s.startswith(prefix)
    )
    return (
        sorted(Organization.objects.values_list("slug", flat=True)),
        sorted(Domain.objects.values_list("domain", flat=True)),
        with_schema("t_"),
        sorted(PoolSchema.objects.values_list("schema_name", flat=True)),
    )


def _schemas():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return [row[0] for row in cursor.fetchall()]


# --- read-only pages --------------------------------------------------------------------


def test_index_and_forms_render(operator, tenant):
    index = operator.get("/admin/")
    assert index.status_code == 200
    assert "/admin/tenants/organization/" in index.content.decode()
    add = operator.get(ADD)
    assert add.status_code == 200
    assert {"owner_email", "owner_password", "domain", "slug", "parent"} <= set(add.context["adminform"].form.fields)
    operator_pk = get_user_model().objects.get(email=OPERATOR_EMAIL).pk
    assert operator.get(reverse("admin:accounts_user_change", args=[operator_pk])).status_code == 200
    assert operator.get("/admin/accounts/user/add/").status_code == 200


def test_changelist_lists_the_tenants_with_their_domains(operator, tenant, other_tenant):
    response = operator.get(CHANGELIST)
    assert response.status_code == 200
    body = response.content.decode()
    for org in (tenant, other_tenant):
        assert org.name in body
        assert _host(org) in body


def test_changelist_filters_by_status_and_kind_and_tree(operator, tenant, other_tenant):
    Organization.objects.filter(pk=tenant.pk).update(status=Organization.Status.SUSPENDED)
    response = operator.get(CHANGELIST, {"status__exact": "suspended"})
    names = [o.name for o in response.context["cl"].result_list]
    assert names == [tenant.name]

    response = operator.get(CHANGELIST, {"kind__exact": "partner"})
    assert list(response.context["cl"].result_list) == []
    response = operator.get(CHANGELIST, {"kind__exact": "company"})
    assert {o.pk for o in response.context["cl"].result_list} == {tenant.pk, other_tenant.pk}

    Organization.objects.filter(pk=tenant.pk).update(kind=Organization.Kind.PARTNER)
    Organization.objects.filter(pk=other_tenant.pk).update(parent=tenant)
    response = operator.get(CHANGELIST, {"tree": "child"})
    assert [o.pk for o in response.context["cl"].result_list] == [other_tenant.pk]
    response = operator.get(CHANGELIST, {"tree": "top"})
    rows = list(response.context["cl"].result_list)
    assert [o.pk for o in rows] == [tenant.pk]
    assert rows[0].children_total == 1


def test_changelist_searches_name_slug_and_domain(operator, tenant, other_tenant):
    for term in ("Alpha", "alpha", _host(tenant)):
        response = operator.get(CHANGELIST, {"q": term})
        assert [o.pk for o in response.context["cl"].result_list] == [tenant.pk], term


def test_change_page_shows_the_tree_and_read_only_schema(operator, tenant, other_tenant):
    Organization.objects.filter(pk=tenant.pk).update(kind=Organization.Kind.PARTNER)
    Organization.objects.filter(pk=other_tenant.pk).update(parent=tenant)
    response = operator.get(reverse("admin:tenants_organization_change", args=[tenant.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("admin:tenants_organization_change", args=[other_tenant.pk]) in body
    assert other_tenant.name in body
    assert tenant.schema_name in body
    form = response.context["adminform"].form
    assert "schema_name" not in form.fields and "slug" not in form.fields
    assert _host(tenant) in body  # the domain inline


def test_pool_is_listed_read_only(operator):
    PoolSchema.objects.create(schema_name="pool_abc", migration_fingerprint="f" * 64)
    response = operator.get("/admin/tenants/poolschema/")
    assert response.status_code == 200
    assert "pool_abc" in response.content.decode()
    assert operator.get("/admin/tenants/poolschema/add/").status_code == 403


def test_operators_are_listed_and_searchable(operator):
    get_user_model().objects.create_user("outra@orbit.example.com", "x", is_staff=True)
    response = operator.get("/admin/accounts/user/", {"q": "outra"})
    assert response.status_code == 200
    assert [u.email for u in response.context["cl"].result_list] == ["outra@orbit.example.com"]
    response = operator.get("/admin/accounts/user/", {"is_staff__exact": "1"})
    assert len(response.context["cl"].result_list) == 2


def test_operator_add_form_creates_a_public_user(operator):
    response = operator.post(
        "/admin/accounts/user/add/",
        {
            "email": "Nova@Orbit.example.com",
            "usable_password": "true",
            "password1": "Operador-senha-42",
            "password2": "Operador-senha-42",
            "is_staff": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    user = get_user_model().objects.get(email="nova@orbit.example.com")
    assert user.is_staff and not user.is_superuser and user.check_password("Operador-senha-42")
    client = host_client("localhost")
    assert client.login(email="nova@orbit.example.com", password="Operador-senha-42")


# --- who may enter ----------------------------------------------------------------------


def test_tenant_owner_cannot_log_into_the_platform_admin(db, tenant):
    client = host_client("localhost")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": owner_email(tenant.slug), "password": OWNER_PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 200  # the form again, with an error
    assert response.context["form"].errors
    assert client.get("/admin/").status_code == 302
    # and the owner really exists, inside the tenant's schema
    with schema_context(tenant.schema_name):
        assert get_user_model().objects.filter(email=owner_email(tenant.slug)).exists()


def test_tenant_hosts_have_no_admin(db, tenant, tenant_client):
    for path in ("/admin/", "/admin/login/", CHANGELIST):
        assert tenant_client.get(path).status_code == 404, path
    # not even for the tenant's logged-in owner
    response = tenant_client.post("/accounts/login/", {"username": owner_email(tenant.slug), "password": OWNER_PASSWORD})
    assert response.status_code == 302
    assert tenant_client.get("/").status_code == 200
    assert tenant_client.get(CHANGELIST).status_code == 404


def test_non_staff_public_user_is_refused(db):
    get_user_model().objects.create_user("cliente@orbit.example.com", OWNER_PASSWORD)
    client = host_client("localhost")
    response = client.post(
        "/admin/login/", {"username": "cliente@orbit.example.com", "password": OWNER_PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 200 and response.context["form"].errors
    client.force_login(get_user_model().objects.get(email="cliente@orbit.example.com"))
    assert client.get(CHANGELIST).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_anonymous_is_sent_to_the_login(db):
    response = host_client("localhost").get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- writes through the services (committed) --------------------------------------------


def test_suspend_and_activate_actions_go_through_the_service(live_operator, tenant, other_tenant):
    tenant_host_client = host_client(_host(tenant))
    assert tenant_host_client.get("/accounts/login/").status_code == 200  # cached as active

    # first a page that says what will happen; nothing happened yet
    asked = live_operator.post(CHANGELIST, {"action": "suspend_selected", "_selected_action": [tenant.pk, other_tenant.pk]})
    assert asked.status_code == 200 and "O que vai acontecer" in asked.content.decode()
    tenant.refresh_from_db()
    assert tenant.status == Organization.Status.ACTIVE

    response = live_operator.post(
        CHANGELIST,
        {"action": "suspend_selected", "_selected_action": [tenant.pk, other_tenant.pk], "confirmed": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 organizações suspensas." in [str(m) for m in response.context["messages"]]
    tenant.refresh_from_db()
    assert tenant.status == Organization.Status.SUSPENDED and tenant.status_changed_at is not None
    # the host cache was invalidated: the tenant's host answers "suspended" at once
    blocked = tenant_host_client.get("/accounts/login/")
    assert blocked.status_code == 403
    assert "suspensa" in blocked.content.decode()

    response = live_operator.post(
        CHANGELIST, {"action": "activate_selected", "_selected_action": [tenant.pk], "confirmed": "yes"}, follow=True
    )
    assert "1 organização ativada." in [str(m) for m in response.context["messages"]]
    assert tenant_host_client.get("/accounts/login/").status_code == 200
    other_tenant.refresh_from_db()
    assert other_tenant.status == Organization.Status.SUSPENDED


def test_status_change_in_the_change_form_invalidates_the_host(live_operator, tenant):
    tenant_host_client = host_client(_host(tenant))
    assert tenant_host_client.get("/accounts/login/").status_code == 200
    url = reverse("admin:tenants_organization_change", args=[tenant.pk])
    response = live_operator.post(
        url,
        {
            "name": "Alpha Renomeada",
            "kind": tenant.kind,
            "parent": "",
            "plan": _plan_pk("business"),
            "status": Organization.Status.CANCELLED,
            "domains-TOTAL_FORMS": "1",
            "domains-INITIAL_FORMS": "1",
            "domains-MIN_NUM_FORMS": "0",
            "domains-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    tenant.refresh_from_db()
    assert (tenant.name, tenant.plan.code, tenant.status) == ("Alpha Renomeada", "business", "cancelled")
    assert tenant_host_client.get("/accounts/login/").status_code == 403


def test_change_form_refuses_a_company_as_parent_and_a_cycle(live_operator, tenant, other_tenant):
    url = reverse("admin:tenants_organization_change", args=[other_tenant.pk])
    payload = {
        "name": other_tenant.name,
        "kind": "company",
        "parent": tenant.pk,  # a company: not offered
        "plan": other_tenant.plan_id,
        "status": other_tenant.status,
        "domains-TOTAL_FORMS": "1",
        "domains-INITIAL_FORMS": "1",
        "domains-MIN_NUM_FORMS": "0",
        "domains-MAX_NUM_FORMS": "1000",
    }
    response = live_operator.post(url, payload)
    assert response.status_code == 200 and "parent" in response.context["adminform"].form.errors
    other_tenant.refresh_from_db()
    assert other_tenant.parent_id is None

    # alpha a partner with beta below it; beta cannot become a partner above alpha
    Organization.objects.filter(pk=tenant.pk).update(kind="partner")
    Organization.objects.filter(pk=other_tenant.pk).update(parent=tenant)
    response = live_operator.post(
        reverse("admin:tenants_organization_change", args=[tenant.pk]),
        {**payload, "name": tenant.name, "kind": "company", "parent": "", "plan": tenant.plan_id},
    )
    assert response.status_code == 200
    assert "sub-organizations" in str(response.context["adminform"].form.non_field_errors())
    tenant.refresh_from_db()
    assert tenant.kind == "partner"

    # beta a holding below alpha: alpha cannot move below beta
    Organization.objects.filter(pk=other_tenant.pk).update(kind="holding")
    response = live_operator.post(
        reverse("admin:tenants_organization_change", args=[tenant.pk]),
        {**payload, "name": tenant.name, "kind": "partner", "parent": other_tenant.pk, "plan": tenant.plan_id},
    )
    assert response.status_code == 200
    assert "cycle" in str(response.context["adminform"].form.non_field_errors())
    tenant.refresh_from_db()
    assert tenant.parent_id is None


def test_add_form_provisions_schema_domain_and_owner(live_operator):
    response = live_operator.post(ADD, _add_payload(domain="atendimento.gama.example.com"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    org = Organization.objects.get(slug="gama")
    assert org.schema_name == "t_gama" and schema_exists("t_gama")
    assert set(org.domains.values_list("domain", "is_primary")) == {
        ("gama.localhost", True),
        ("atendimento.gama.example.com", False),
    }
    with schema_context("t_gama"):
        owner = get_user_model().objects.get(email="dona@gama.example.com")
        assert owner.role == "owner" and owner.check_password("Gama-senha-forte-42")
    # the new tenant answers on its host, and its owner can log in there
    client = host_client("gama.localhost")
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "dona@gama.example.com", "password": "Gama-senha-forte-42"})
    assert response.status_code == 302
    # the operator's password never reaches the public schema as a user
    assert not get_user_model().objects.filter(email="dona@gama.example.com").exists()


def test_add_form_under_a_partner_shows_in_its_tree(live_operator):
    partner = organization_create(name="Revenda", slug="revenda", kind="partner", plan="starter", use_pool=False)
    response = live_operator.post(ADD, _add_payload(parent=partner.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Organization.objects.get(slug="gama").parent == partner
    page = live_operator.get(reverse("admin:tenants_organization_change", args=[partner.pk])).content.decode()
    assert "Gama Atendimento" in page


def test_add_form_with_a_duplicate_slug_shows_an_error_and_leaves_nothing(live_operator, tenant):
    provisioning.pool_refill(size=1)
    before = _footprint()
    response = live_operator.post(ADD, _add_payload(slug=tenant.slug))
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert _footprint() == before


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"slug": "admin"}, "reserved"),  # refused by the service, after the form was valid
        ({"domain": "alpha.localhost"}, "already in use"),
    ],
)
def test_add_form_refused_by_the_service_leaves_nothing_behind(live_operator, tenant, overrides, message):
    provisioning.pool_refill(size=1)
    before = _footprint()
    response = live_operator.post(ADD, _add_payload(**overrides))
    assert response.status_code == 200
    errors = str(response.context["adminform"].form.non_field_errors())
    assert message in errors
    assert _footprint() == before  # no row, domain or schema; the pool schema went back


def test_add_form_rejects_a_weak_owner_password(live_operator):
    response = live_operator.post(ADD, _add_payload(owner_password="123"))
    assert response.status_code == 200
    assert "owner_password" in response.context["adminform"].form.errors
    assert not Organization.objects.filter(slug="gama").exists()
    assert not schema_exists("t_gama")


def test_delete_drops_the_schema(live_operator):
    org = organization_create(name="Delta", slug="delta", plan="starter", use_pool=False)
    assert schema_exists("t_delta")
    host_client("delta.localhost").get("/accounts/login/")  # cache the host
    url = reverse("admin:tenants_organization_delete", args=[org.pk])
    assert live_operator.get(url).status_code == 200
    response = live_operator.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Organization.objects.filter(slug="delta").exists()
    assert not Domain.objects.filter(domain="delta.localhost").exists()
    assert not schema_exists("t_delta")
    assert host_client("delta.localhost").get("/accounts/login/").status_code == 404


def test_bulk_delete_drops_every_schema(live_operator, tenant):
    a = organization_create(name="Eta", slug="eta", plan="starter", use_pool=False)
    b = organization_create(name="Teta", slug="teta", plan="starter", use_pool=False)
    response = live_operator.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [a.pk, b.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert not schema_exists("t_eta") and not schema_exists("t_teta")
    assert Organization.objects.filter(pk=tenant.pk).exists()


def test_a_partner_with_sub_organizations_cannot_be_deleted(live_operator):
    partner = organization_create(name="Revenda", slug="revenda", kind="partner", plan="starter", use_pool=False)
    organization_create(name="Filha", slug="filha", parent=partner, plan="starter", use_pool=False)
    url = reverse("admin:tenants_organization_delete", args=[partner.pk])
    response = live_operator.post(url, {"post": "yes"})
    assert response.status_code == 200 and response.context["protected"]  # the "cannot delete" page
    assert schema_exists("t_revenda") and Organization.objects.filter(slug="revenda").exists()
