"""GET /api/v1/conversations: personal API token, the plan's api feature, scope, pagination."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from accounts.models import ApiToken
from chat.models import Conversation
from tests.chat.factories import ConversationFactory, InboxFactory
from tests.conftest import host_client
from tests.factories import UserFactory, make_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_org(db):
    """A tenant whose plan has the API (the session tenants' plan does not)."""
    return make_organization("integra", plan="business")


def _token(org, **user):
    with tenant_context(org):
        return ApiToken.objects.issue(user=UserFactory(**user), name="bot")[1]


def get(org, token=None, **params):
    client = host_client(org.domains.get(is_primary=True).domain)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/v1/conversations", params, headers=headers)


def test_lists_what_the_tokens_user_may_see_newest_first(api_org):
    with tenant_context(api_org):
        open_inbox, closed_inbox = InboxFactory(), InboxFactory()
        agent = UserFactory(email="bot@integra.example.com", role="agent")
        closed_inbox.agents.add(UserFactory(email="outra@integra.example.com", role="agent"))
        visible = [ConversationFactory(inbox=open_inbox) for _ in range(3)]
        ConversationFactory(inbox=closed_inbox)  # not this agent's
        ConversationFactory(inbox=open_inbox, status=Conversation.Status.RESOLVED)
        token = ApiToken.objects.issue(user=agent, name="bot")[1]
    response = get(api_org, token)
    assert response.status_code == 200, response.content
    body = response.json()
    assert [c["id"] for c in body["results"]] == [c.pk for c in reversed(visible)]
    assert body["next"] is None
    first = body["results"][0]
    assert first["status"] == "open" and first["inbox"]["id"] == open_inbox.pk and first["contact"]["name"]
    assert set(first) >= {"assignee", "team", "labels", "priority", "last_seq", "created_at", "last_activity_at"}
    assert len(get(api_org, token, status="any").json()["results"]) == 4


def test_pages_follow_the_cursor_without_gaps(api_org):
    with tenant_context(api_org):
        inbox = InboxFactory()
        ids = {ConversationFactory(inbox=inbox).pk for _ in range(7)}
    token = _token(api_org, role="admin")
    seen, after = [], None
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        body = get(api_org, token, **params).json()
        seen += [c["id"] for c in body["results"]]
        after = body["next"]
        if after is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))


def test_no_token_a_wrong_one_or_another_tenants_is_401(api_org, tenant):
    assert get(api_org).status_code == 401
    assert get(api_org).headers["WWW-Authenticate"].startswith("Bearer")
    assert get(api_org, "orb_nao-existe").status_code == 401
    foreign = _token(tenant, email="estrangeiro@alpha.example.com")
    response = get(api_org, foreign)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_a_plan_without_the_api_is_refused(tenant):
    token = _token(tenant, email="semapi@alpha.example.com", role="admin")
    response = get(tenant, token)
    assert response.status_code == 403 and response.json()["error"]["code"] == "feature_unavailable"


@pytest.mark.parametrize(
    "params",
    [{"filter": "todas"}, {"status": "fechada"}, {"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"after": "ontem"}],
)
def test_bad_parameters_are_a_400_with_a_message(api_org, params):
    token = _token(api_org, role="admin")
    response = get(api_org, token, **params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request" and response.json()["error"]["message"]


def test_errors_speak_the_callers_language(tenant):
    token = _token(tenant, email="ingles@alpha.example.com", role="admin")
    client = host_client(tenant.domains.get(is_primary=True).domain)
    english = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert english.json()["error"]["message"] == "Your plan does not include the API."
    portuguese = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}", "Accept-Language": "pt-br"})
    assert portuguese.json()["error"]["message"] == "O seu plano não inclui a API."
