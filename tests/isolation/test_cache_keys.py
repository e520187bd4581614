from django.core.cache import cache, caches
from django_tenants.utils import schema_context

from tenants.routing import host_cache_key


def test_cache_keys_are_partitioned_by_tenant(db, tenant, other_tenant):
    with schema_context(tenant.schema_name):
        cache.set("unread", 7)
        assert cache.get("unread") == 7
    with schema_context(other_tenant.schema_name):
        assert cache.get("unread") is None
        cache.set("unread", 1)
    with schema_context(tenant.schema_name):
        assert cache.get("unread") == 7


def test_shared_cache_keys_carry_the_host(db):
    assert host_cache_key("Alpha.LOCALHOST") == "routing:host:alpha.localhost"
    caches["shared"].set(host_cache_key("a.localhost"), "x")
    assert caches["shared"].get(host_cache_key("b.localhost")) is None
