"""Chat fixtures: work inside tenant A's schema (tenant_context, so services see the organization)."""

from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from tests.factories import UserFactory


@pytest.fixture
def in_tenant(db, tenant):
    """Pure service tests: the connection in tenant A's schema, rolled back after."""
    with tenant_context(tenant):
        yield tenant
    connection.set_schema_to_public()


@pytest.fixture
def in_tenant_live(live_db, tenant):
    """Committed variant, for tests that cross threads."""
    with tenant_context(tenant):
        yield tenant
    connection.set_schema_to_public()


@pytest.fixture
def agent(tenant):
    return UserFactory(email="agente@alpha.example.com", name="Ana Agente")
