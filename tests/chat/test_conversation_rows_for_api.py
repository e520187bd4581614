"""selectors.conversation_rows_for_api (hand-written SQL for the REST API) pages through
exactly what conversation_page_for_agent (the ORM, the inbox list) does: same scope,
filters, order, ties and cursors."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from chat import selectors
from chat.models import Conversation
from tests.chat.factories import InboxFactory
from tests.chat.test_views_inbox_pagination import _bulk, many  # noqa: F401
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _walk(fetch, **kw) -> list[list[int]]:
    pages, after = [], None
    while True:
        rows, after = fetch(after=after, limit=40, **kw)
        pages.append([r["id"] if isinstance(r, dict) else r.pk for r in rows])
        if after is None:
            return pages


@pytest.mark.parametrize(
    "filter_, status", [("all", "open"), ("mine", "open"), ("unassigned", "open"), ("all", None), ("all", "resolved")]
)
def test_the_api_pages_match_the_inbox_lists_pages(many, filter_, status):  # noqa: F811
    with tenant_context(many["tenant"]):
        for user in (many["agent"], UserFactory(email="so-loja-b@alpha.example.com", role="agent")):
            args = {"user": user, "filter": filter_, "status": status}
            assert _walk(selectors.conversation_rows_for_api, **args) == _walk(selectors.conversation_page_for_agent, **args)


def test_rows_carry_names_labels_and_the_scope_still_applies(many):  # noqa: F811
    with tenant_context(many["tenant"]):
        rows, _ = selectors.conversation_rows_for_api(user=many["agent"], limit=250, filter="mine")
        assert rows and all(r["assignee_id"] == many["agent"].pk and r["assignee_name"] == "Ana Agente" for r in rows)
        labelled = [r for r in rows if r["labels"]]
        assert not labelled  # mine are the even ones, the labelled are odd
        rows, _ = selectors.conversation_rows_for_api(user=many["agent"], limit=250, filter="unassigned")
        assert any(r["labels"] == ["vip"] for r in rows) and all(r["contact_name"].startswith("Cliente") for r in rows)
        # an agent who works another inbox only sees nothing of Loja A
        elsewhere = InboxFactory(name="Loja B")
        outsider = UserFactory(email="fora-api@alpha.example.com", role="agent")
        elsewhere.agents.add(outsider)
        many["inbox"].agents.add(many["agent"])
        assert selectors.conversation_rows_for_api(user=outsider, limit=250, status=None)[0] == []
        assert Conversation.objects.filter(inbox=many["inbox"]).exists()
