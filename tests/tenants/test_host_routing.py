from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.routing import host_cache_key, resolve_host
from tenants.services import organization_activate, organization_suspend
from tests.conftest import host_client


def test_tenant_host_serves_its_login_page(db, tenant, tenant_client):
    response = tenant_client.get("/accounts/login/")
    assert response.status_code == 200
    assert tenant.name in response.content.decode()


def test_unknown_host_gets_a_404_page_not_a_500(db):
    response = host_client("nobody.localhost").get("/accounts/login/")
    assert response.status_code == 404
    assert "nobody.localhost" in response.content.decode()


def test_platform_host_serves_the_admin(db, platform_client):
    response = platform_client.get("/admin/login/")
    assert response.status_code == 200


def test_tenant_host_has_no_admin(db, tenant_client):
    assert tenant_client.get("/admin/").status_code == 404


def test_cache_hit_costs_no_domain_query(db, tenant):
    host = tenant.domains.get(is_primary=True).domain
    assert resolve_host(host) == tenant  # fills the cache
    with CaptureQueriesContext(connection) as queries:
        assert resolve_host(host) == tenant
    assert len(queries) == 0


def test_suspended_tenant_gets_a_403_page_on_every_path(live_db, tenant, other_tenant):
    host = tenant.domains.get(is_primary=True).domain
    client = host_client(host)
    assert client.get("/accounts/login/").status_code == 200  # cached as active
    organization_suspend(organization=tenant)
    for path in ("/", "/accounts/login/", "/api/anything"):
        response = client.get(path)
        assert response.status_code == 403, path
    assert "suspensa" in client.get("/accounts/login/").content.decode()
    assert client.get("/api/x").json()["error"] == "tenant_suspended"
    # the other tenant is untouched
    assert host_client(other_tenant.domains.get(is_primary=True).domain).get("/accounts/login/").status_code == 200
    organization_activate(organization=tenant)
    assert client.get("/accounts/login/").status_code == 200


def test_unknown_host_is_cached_negatively_then_found_once_created(live_db):
    from tenants.services import organization_create

    client = host_client("gamma.localhost")
    assert client.get("/accounts/login/").status_code == 404
    from django.core.cache import caches

    assert caches["shared"].get(host_cache_key("gamma.localhost")) == "-"
    organization_create(name="Gamma", slug="gamma", plan="starter", use_pool=False)
    assert client.get("/accounts/login/").status_code == 200


def test_health_endpoints_answer_on_any_host(db):
    for host in ("localhost", "unknown.example.org"):
        client = host_client(host)
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["postgres"]["ok"] and ready.json()["checks"]["redis"]["ok"]
