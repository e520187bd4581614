"""Shared fixtures.

Two tenants (`tenant`, `other_tenant`) are provisioned once per session, committed.
Tests that only touch one connection use pytest-django's `db` (rolled back after each
test, DDL included). Tests whose work crosses connections or threads (websockets,
Celery, the pool, live servers) use `live_db`: committed writes, cleaned afterwards."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client

from tests.factories import OWNER_PASSWORD, SessionTenants, reset_to_session_state


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb):
    """Always create the test database, even for a run whose tests only use `live_db`.

    pytest-django creates databases only for tests that ask for `db`; a run of live tests
    alone would otherwise work on the development database."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=0, interactive=False, keepdb=django_db_keepdb, aliases={"default"}, serialized_aliases=set()
        )
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=0, keepdb=django_db_keepdb)


@pytest.fixture(scope="session")
def session_tenants(django_db_setup, django_db_blocker) -> SessionTenants:
    with django_db_blocker.unblock():
        return SessionTenants.provision()


@pytest.fixture(autouse=True)
def _clean_redis():
    caches["default"].clear()  # the same Redis database holds both cache aliases
    yield


@pytest.fixture
def tenant(session_tenants, django_db_blocker):
    with django_db_blocker.unblock():
        return session_tenants.get("alpha")


@pytest.fixture
def other_tenant(session_tenants, django_db_blocker):
    with django_db_blocker.unblock():
        return session_tenants.get("beta")


@pytest.fixture
def live_db(session_tenants, django_db_blocker):
    """Committed database access; everything beyond the session tenants is removed after."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        yield
        connection.set_schema_to_public()
        reset_to_session_state(session_tenants)


@pytest.fixture
def owner_password() -> str:
    return OWNER_PASSWORD


def host_client(host: str, **kwargs) -> Client:
    return Client(HTTP_HOST=host, **kwargs)


@pytest.fixture
def tenant_client(tenant) -> Client:
    return host_client(tenant.domains.get(is_primary=True).domain)


@pytest.fixture
def other_tenant_client(other_tenant) -> Client:
    return host_client(other_tenant.domains.get(is_primary=True).domain)


@pytest.fixture
def platform_client() -> Client:
    return host_client("localhost")
