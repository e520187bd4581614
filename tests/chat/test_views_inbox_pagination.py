"""The inbox list past 100 conversations: keyset pages ("Carregar mais" / "Load more", htmx)
ordered by last activity then id, with every filter, stable while conversations arrive or
move; a cursor that does not parse is a 400 with a message; another tenant's conversations
never appear, whatever the cursor."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat import selectors
from chat.models import Contact, Conversation, Inbox
from chat.views.inbox import LIST_LIMIT
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory, LabelFactory, TeamFactory
from tests.factories import UserFactory, logged_in, owner_email

pytestmark = pytest.mark.django_db

ALPHA, BETA = "alpha.localhost", "beta.localhost"
AGENT = "ana@alpha.example.com"
HX = {"HTTP_HX_REQUEST": "true"}
BASE = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)


def _bulk(inbox: Inbox, count: int, *, start: int = 0, **fields) -> list[Conversation]:
    """`count` conversations; every third one shares its activity time with its neighbours
    (ties are broken by id, which is what the cursor has to get right)."""
    contacts = Contact.objects.bulk_create([Contact(name=f"Cliente {start + n:03d}") for n in range(count)])
    return Conversation.objects.bulk_create(
        [
            Conversation(inbox=inbox, contact=c, last_activity_at=BASE + dt.timedelta(minutes=(start + n) // 3), **fields)
            for n, c in enumerate(contacts)
        ]
    )


def _expected(qs) -> list[int]:
    return list(qs.order_by("-last_activity_at", "-pk").values_list("pk", flat=True))


@pytest.fixture
def many(tenant):
    """Tenant A: 250 open conversations (some assigned, some of a team, some labelled), a few
    resolved ones; an agent who sees them all (admin)."""
    with tenant_context(tenant):
        agent = UserFactory(email=AGENT, name="Ana Agente", role="admin")
        team = TeamFactory(name="Vendas")
        vip = LabelFactory(name="vip")
        inbox = InboxFactory(name="Loja A")
        convs = _bulk(inbox, 250)
        mine = [c.pk for c in convs[::2]]  # 125
        Conversation.objects.filter(pk__in=mine).update(assignee=agent)
        teamed = [c.pk for c in convs[::5]]  # 50
        Conversation.objects.filter(pk__in=teamed).update(team=team)
        labelled = convs[1::2][:110]
        vip.conversations.add(*labelled)
        resolved = _bulk(inbox, 30, start=1000, status=Conversation.Status.RESOLVED)
    return {"agent": agent, "team": team, "inbox": inbox, "all": [c.pk for c in convs], "resolved": resolved, "tenant": tenant}


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="conv-row" id="row-\d+" data-id="(\d+)"', html)]


def _cursor(html: str) -> str | None:
    found = re.search(r'name="after" value="([^"]+)"', html)
    return found.group(1) if found else None


def _walk(client, query: str) -> list[list[int]]:
    """Every page of the list, the first from the page itself, the next through "Load more"."""
    html = client.get(f"/inbox/?{query}").content.decode()
    pages = [_ids(html)]
    cursor = _cursor(html)
    while cursor:
        response = client.get(f"/inbox/?{query}&after={cursor}", **HX)
        assert response.status_code == 200
        fragment = response.content.decode()
        assert "<html" not in fragment and 'id="conv-list"' not in fragment
        pages.append(_ids(fragment))
        cursor = _cursor(fragment)
        assert len(pages) < 10
    return pages


def test_250_conversations_in_pages_of_100_without_gaps_or_duplicates(many):
    client = logged_in(ALPHA, AGENT)
    html = client.get("/inbox/").content.decode()
    assert "Carregar mais" in html and 'hx-get="/inbox/"' in html and 'hx-target="#conv-more"' in html
    pages = _walk(client, "filter=all&status=open")
    assert [len(p) for p in pages] == [LIST_LIMIT, LIST_LIMIT, 50]
    with tenant_context(many["tenant"]):
        expected = _expected(Conversation.objects.filter(status="open"))
    flat = [pk for page in pages for pk in page]
    assert flat == expected  # the server's order, nothing missing, nothing twice
    last = client.get(f"/inbox/?filter=all&status=open&after={_cursor(client.get('/inbox/').content.decode())}", **HX)
    assert "Carregar mais" in last.content.decode()  # page 2 still has a page 3


def test_pages_are_stable_while_conversations_arrive_and_move(many):
    client = logged_in(ALPHA, AGENT)
    first = client.get("/inbox/?filter=all&status=open").content.decode()
    page1 = _ids(first)
    with tenant_context(many["tenant"]):
        newcomers = _bulk(many["inbox"], 5, start=5000)  # newest of all: above page 1
        # one of page 3's conversations gets a message: it jumps to the top
        bumped = _expected(Conversation.objects.filter(status="open").exclude(pk__in=[c.pk for c in newcomers]))[-1]
        Conversation.objects.filter(pk=bumped).update(last_activity_at=timezone.now())
    second = client.get(f"/inbox/?filter=all&status=open&after={_cursor(first)}", **HX).content.decode()
    third = client.get(f"/inbox/?filter=all&status=open&after={_cursor(second)}", **HX).content.decode()
    seen = page1 + _ids(second) + _ids(third)
    assert len(seen) == len(set(seen))
    assert set(seen) | {bumped} == set(many["all"])  # the bumped one is now on a fresh first page
    assert not {c.pk for c in newcomers} & set(seen)
    assert _cursor(third) is None


@pytest.mark.parametrize(
    ("query", "pick"),
    [
        ("filter=mine&status=open", lambda m: Conversation.objects.filter(assignee=m["agent"], status="open")),
        ("filter=unassigned&status=open", lambda m: Conversation.objects.filter(assignee__isnull=True, status="open")),
        ("filter=all&status=resolved", lambda m: Conversation.objects.filter(status="resolved")),
        ("filter=all&status=any", lambda m: Conversation.objects.all()),
        ("filter=all&status=open&label=vip", lambda m: Conversation.objects.filter(labels__name="vip")),
        ("filter=mine&status=open&label=vip", lambda m: Conversation.objects.none()),  # labelled ones are odd, mine even
        ("filter=all&status=any&team={team}", lambda m: Conversation.objects.filter(team=m["team"])),
    ],
)
def test_every_filter_pages_through_exactly_its_conversations(many, query, pick):
    client = logged_in(ALPHA, AGENT)
    query = query.format(team=many["team"].pk)
    pages = _walk(client, query)
    with tenant_context(many["tenant"]):
        expected = _expected(pick(many))
    assert [pk for page in pages for pk in page] == expected
    assert all(len(p) == LIST_LIMIT for p in pages[:-1])
    # the "Load more" form carries the filters
    html = client.get(f"/inbox/?{query}").content.decode()
    if len(expected) > LIST_LIMIT:
        more = html.split('id="conv-more"')[1].split("</form>")[0]
        for key, value in (pair.split("=") for pair in query.split("&")):
            assert f'name="{key}" value="{value}"' in more
    if not expected:
        assert "Nenhuma conversa aqui." in html and "Experimente outros filtros." in html and "Carregar mais" not in html


def test_empty_state_and_no_load_more_when_everything_fits(tenant):
    with tenant_context(tenant):
        UserFactory(email=AGENT, role="admin")
    client = logged_in(ALPHA, AGENT)
    html = client.get("/inbox/").content.decode()
    assert "Nenhuma conversa aqui." in html and "Experimente outros filtros." not in html
    assert 'id="conv-more"' not in html
    with tenant_context(tenant):
        ConversationFactory(contact=ContactFactory(name="Única"))
    html = client.get("/inbox/").content.decode()
    assert "Única" in html and 'id="conv-more"' not in html and "Nenhuma conversa" not in html
    english = client.get("/inbox/?filter=mine", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No conversations here." in english and "Try other filters." in english


@pytest.mark.parametrize("cursor", ["", "abc", "12.x", "12", ".5", "1.-5", "1.0", "9" * 30 + ".1", "1.99999999999999999999"])
def test_a_bad_cursor_is_a_400_with_a_message(many, cursor):
    client = logged_in(ALPHA, AGENT)
    response = client.get(f"/inbox/?after={cursor}", **HX)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="conv-more"' in html and 'role="alert"' in html and "posição na lista é inválida" in html
    plain = client.get(f"/inbox/?after={cursor}", HTTP_ACCEPT_LANGUAGE="en")
    assert plain.status_code == 400 and "position in the list is not valid" in plain.content.decode()


def test_without_javascript_the_form_opens_the_next_page(many):
    client = logged_in(ALPHA, AGENT)
    cursor = _cursor(client.get("/inbox/").content.decode())
    page = client.get(f"/inbox/?filter=all&status=open&after={cursor}")
    assert page.status_code == 200 and "<html" in page.content.decode()
    assert len(_ids(page.content.decode())) == LIST_LIMIT


def test_cursor_round_trip_keeps_microseconds():
    moment = dt.datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)
    cursor = selectors.ConversationCursor(activity=moment, pk=42)
    assert selectors.ConversationCursor.decode(cursor.encode()) == cursor


def test_another_tenants_conversations_never_listed(many, other_tenant):
    with tenant_context(other_tenant):
        beta_inbox = InboxFactory(name="Loja B")
        beta = _bulk(beta_inbox, 120, start=0)
        beta_ids = {c.pk for c in beta}
        Contact.objects.filter(conversations__in=beta).update(name="Cliente de Beta")
    client = logged_in(ALPHA, AGENT)
    pages = _walk(client, "filter=all&status=any")
    with tenant_context(many["tenant"]):
        alpha_ids = set(Conversation.objects.values_list("pk", flat=True))
    assert {pk for page in pages for pk in page} == alpha_ids
    # a cursor taken on B's list is only a position on A's: A's rows, never B's
    beta_client = logged_in(BETA, owner_email("beta"))
    beta_html = beta_client.get("/inbox/?filter=all&status=any").content.decode()
    assert set(_ids(beta_html)) <= beta_ids and "Cliente 000" not in beta_html.replace("Cliente de Beta", "")
    fragment = client.get(f"/inbox/?filter=all&status=any&after={_cursor(beta_html)}", **HX).content.decode()
    assert "Cliente de Beta" not in fragment and set(_ids(fragment)) <= alpha_ids
    # and B walking its own list never meets A's
    b_pages = _walk(beta_client, "filter=all&status=any")
    b_seen = {pk for page in b_pages for pk in page}
    assert b_seen == beta_ids


def test_an_agent_pages_only_through_what_they_may_see(many):
    with tenant_context(many["tenant"]):
        outsider = UserFactory(email="fora@alpha.example.com", role="agent")
        restricted = InboxFactory(name="Restrita")
        restricted.agents.add(many["agent"])
        Conversation.objects.filter(pk__in=many["all"]).update(inbox=restricted)
        visible = ConversationFactory(contact=ContactFactory(name="Visível"))  # an inbox open to everyone
        outsider.refresh_from_db()
    client = logged_in(ALPHA, "fora@alpha.example.com")
    pages = _walk(client, "filter=all&status=open")
    assert pages == [[visible.pk]]
    # a cursor from the admin's list does not widen it
    admin_cursor = _cursor(logged_in(ALPHA, AGENT).get("/inbox/").content.decode())
    fragment = client.get(f"/inbox/?filter=all&status=open&after={admin_cursor}", **HX).content.decode()
    assert set(_ids(fragment)) <= {visible.pk}
