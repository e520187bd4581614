"""Personal API tokens (accounts.services.api_token_create / api_token_revoke): the clear token
is returned once and only its hash and first characters are stored; names are checked; at most
MAX_API_TOKENS per person; revoking is for the owner only and is audited; a created token opens
the agent websocket and stops doing so once revoked; it is worthless on another tenant."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.utils import translation
from django_tenants.utils import tenant_context

from accounts import selectors, services
from accounts.models import ApiToken, AuditEntry
from tests.factories import UserFactory
from tests.ws import communicator, primary_host


@pytest.fixture(autouse=True)
def _pt_br():
    """The refusals are checked in pt-BR, whatever language an earlier test left active."""
    with translation.override("pt-br"):
        yield


@pytest.fixture
def people(db, tenant):
    with tenant_context(tenant):
        yield {
            "ana": UserFactory(email="ana@alpha.example.com", role="agent"),
            "bia": UserFactory(email="bia@alpha.example.com", role="agent"),
        }
    connection.set_schema_to_public()


def test_create_returns_the_clear_token_once_and_stores_only_its_hash(people):
    token, clear = services.api_token_create(user=people["ana"], name="  Bot   de triagem ")
    assert clear.startswith(ApiToken.PREFIX) and len(clear) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.name == "Bot de triagem"
    assert stored.token_hash == hashlib.sha256(clear.encode()).hexdigest() and clear not in stored.token_hash
    assert stored.prefix == clear[:12] and len(stored.prefix) == 12
    assert ApiToken.objects.authenticate(clear) == people["ana"]  # what tenants/websocket.py calls
    entry = AuditEntry.objects.get(action="api_token.create")
    assert entry.actor_email == "ana@alpha.example.com" and entry.target == "Bot de triagem"
    assert entry.detail == {"token": token.pk, "prefix": clear[:12]}
    assert clear not in str(entry.detail) + entry.target
    assert list(selectors.api_token_list(user=people["ana"])) == [stored]
    assert list(selectors.api_token_list(user=people["bia"])) == []


@pytest.mark.parametrize(("name", "message"), [("", "Dê um nome"), ("   ", "Dê um nome"), (None, "Dê um nome"), ("x" * 101, "no máximo 100")])
def test_bad_names_are_refused_and_nothing_is_written(people, name, message):
    with pytest.raises(services.ApiTokenRefused, match=message):
        services.api_token_create(user=people["ana"], name=name)
    assert not ApiToken.objects.exists() and not AuditEntry.objects.exists()
    services.api_token_create(user=people["ana"], name="x" * 100)  # the limit itself is fine


def test_at_most_twenty_tokens_per_person(people):
    for n in range(services.MAX_API_TOKENS):
        services.api_token_create(user=people["ana"], name=f"bot {n}")
    with pytest.raises(services.ApiTokenRefused, match="20 tokens"):
        services.api_token_create(user=people["ana"], name="um a mais")
    assert ApiToken.objects.filter(user=people["ana"]).count() == 20
    services.api_token_create(user=people["bia"], name="outra pessoa")  # a per-person limit
    services.api_token_revoke(user=people["ana"], token_id=ApiToken.objects.filter(user=people["ana"]).first().pk)
    services.api_token_create(user=people["ana"], name="depois de revogar")


def test_revoke_is_for_the_owner_only_and_audited(people):
    token, clear = services.api_token_create(user=people["ana"], name="bot")
    with pytest.raises(ApiToken.DoesNotExist):
        services.api_token_revoke(user=people["bia"], token_id=token.pk)
    with pytest.raises(ApiToken.DoesNotExist):
        services.api_token_revoke(user=people["ana"], token_id=token.pk + 1000)
    assert ApiToken.objects.authenticate(clear) == people["ana"]  # the refusals changed nothing
    assert not AuditEntry.objects.filter(action="api_token.revoke").exists()
    services.api_token_revoke(user=people["ana"], token_id=token.pk)
    assert ApiToken.objects.authenticate(clear) is None
    entry = AuditEntry.objects.get(action="api_token.revoke")
    assert entry.actor_email == "ana@alpha.example.com" and entry.target == "bot" and entry.detail["prefix"] == clear[:12]
    assert selectors.audit_action_label("api_token.revoke") == "Token de API revogado"


def test_support_identities_and_inactive_people_get_no_tokens(people):
    support = UserFactory(email="suporte@zap.example.com", role="support")
    inactive = UserFactory(email="saiu@alpha.example.com", is_active=False)
    for user in (support, inactive):
        with pytest.raises(services.ApiTokenRefused):
            services.api_token_create(user=user, name="bot")
    assert not ApiToken.objects.exists()


# --- the token at work: the agent websocket --------------------------------------------


def _agent_socket(host: str, token: str):
    return communicator(host, path=f"/ws/agent/?token={token}")


async def _opens(host: str, token: str) -> bool:
    comm = _agent_socket(host, token)
    ok, _ = await comm.connect()
    if ok:
        await comm.disconnect()
    return ok


def _in(organization, fn):
    from channels.db import database_sync_to_async

    def run():
        with tenant_context(organization):
            return fn()

    return database_sync_to_async(run)()


async def test_a_created_token_opens_the_agent_socket_until_revoked(live_db, tenant, other_tenant):
    agent = await _in(tenant, lambda: UserFactory(email="bot@alpha.example.com", role="agent"))
    token, clear = await _in(tenant, lambda: services.api_token_create(user=agent, name="bot"))
    alpha, beta = await _in(tenant, lambda: primary_host(tenant)), await _in(tenant, lambda: primary_host(other_tenant))
    assert await _opens(alpha, clear)
    assert not await _opens(beta, clear)  # another tenant's schema has no such token
    # last use is tracked (at most once a minute)
    assert (await _in(tenant, lambda: ApiToken.objects.get(pk=token.pk).last_used_at)) is not None
    # someone else cannot revoke it: it keeps working
    other = await _in(tenant, lambda: UserFactory(email="outra@alpha.example.com", role="admin"))
    with pytest.raises(ApiToken.DoesNotExist):
        await _in(tenant, lambda: services.api_token_revoke(user=other, token_id=token.pk))
    assert await _opens(alpha, clear)
    await _in(tenant, lambda: services.api_token_revoke(user=agent, token_id=token.pk))
    assert not await _opens(alpha, clear)
