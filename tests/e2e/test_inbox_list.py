"""The inbox list past one page, in headless Chromium: "Carregar mais" by keyboard appends the
next page (focus lands on its first row), live updates keep working on a paginated list (a row
beyond the loaded pages is not appended out of order; one that moves up appears once, and the
next page does not bring it again)."""

from __future__ import annotations

import datetime as dt
import threading

from django.utils import timezone
from django_tenants.utils import tenant_context

from chat import services
from chat.models import Contact, Conversation
from tests.chat.factories import InboxFactory
from tests.e2e.conftest import screenshot
from tests.e2e.test_chat import login_agent
from tests.factories import UserFactory


def _in_thread(tenant, fn):
    """Services publish to the channel layer with async_to_sync: not from Playwright's thread."""
    errors = []

    def run():
        try:
            with tenant_context(tenant):
                fn()
        except Exception as exc:  # noqa: BLE001 — re-raised below, in the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not errors, errors


def _row_ids(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all("#conv-rows .conv-row", "els => els.map(e => e.dataset.id)")]


def test_load_more_by_keyboard_with_live_updates(page_factory, url, tenant):
    base = timezone.now() - dt.timedelta(days=2)
    with tenant_context(tenant):
        UserFactory(email="agente@alpha.example.com", name="Ana Agente", role="admin")
        inbox = InboxFactory(name="Loja")
        contacts = Contact.objects.bulk_create([Contact(name=f"Cliente {n:03d}") for n in range(130)])
        convs = Conversation.objects.bulk_create(
            [Conversation(inbox=inbox, contact=c, last_activity_at=base + dt.timedelta(minutes=n)) for n, c in enumerate(contacts)]
        )
    newest_first = [c.pk for c in reversed(convs)]

    agent = page_factory()
    login_agent(agent, url)
    agent.goto(url("alpha.localhost", "/inbox/"))
    agent.wait_for_selector("#conn-status.ok")
    assert _row_ids(agent) == newest_first[:100]
    assert agent.locator("#conv-more button").inner_text() == "Carregar mais"

    # A conversation of page 2 changes (a label): it is not appended below page 1.
    beyond = next(c for c in convs if c.pk == newest_first[110])
    _in_thread(tenant, lambda: services.conversation_labels_add(conversation=beyond, names=["retorno"]))
    # A conversation of page 2 has new activity: it moves to the top, once.
    bumped = next(c for c in convs if c.pk == newest_first[120])

    def bump():
        Conversation.objects.filter(pk=bumped.pk).update(last_activity_at=timezone.now())
        services.conversation_labels_add(conversation=bumped, names=["urgente"])

    _in_thread(tenant, bump)
    agent.wait_for_function(f"document.querySelector('#conv-rows .conv-row').dataset.id === '{bumped.pk}'")
    agent.wait_for_timeout(500)  # the other row's refresh has had its chance too
    assert _row_ids(agent) == [bumped.pk, *newest_first[:100]]

    # Keyboard: Tab to "Carregar mais", Enter; the next page follows, focus on its first row.
    agent.locator("#conv-rows .conv-row a").last.focus()
    agent.keyboard.press("Tab")
    assert agent.evaluate("document.activeElement.closest('#conv-more') !== null")
    agent.locator("#conv-more").scroll_into_view_if_needed()
    agent.locator(".inbox-list").screenshot(path=str(screenshot(agent, "inbox-list-more-button")))
    agent.keyboard.press("Enter")
    agent.wait_for_function("!document.getElementById('conv-more')")
    ids = _row_ids(agent)
    assert len(ids) == len(set(ids)) == 130
    assert ids == [bumped.pk] + [pk for pk in newest_first if pk != bumped.pk]
    focused = agent.evaluate("document.activeElement.closest('.conv-row') && +document.activeElement.closest('.conv-row').dataset.id")
    assert focused == newest_first[100]
    assert "retorno" in agent.locator(f"#row-{beyond.pk}").inner_text()
    agent.locator(f"#row-{beyond.pk}").scroll_into_view_if_needed()
    screenshot(agent, "inbox-list-load-more")

    # A bad cursor (a stale or edited page) says so in place of the button.
    agent.goto(url("alpha.localhost", "/inbox/"))
    agent.wait_for_selector("#conv-more")
    agent.eval_on_selector("#conv-more input[name=after]", "el => el.value = 'nope'")
    agent.click("#conv-more button")
    agent.wait_for_selector("#conv-more[role=alert]")
    assert "posição na lista é inválida" in agent.inner_text("#conv-more")
    assert len(_row_ids(agent)) == 100
    agent.locator("#conv-more").scroll_into_view_if_needed()
    screenshot(agent, "inbox-list-bad-cursor")
