"""End to end in headless Chromium: a visitor on a customer's page (another origin, served by a
tiny HTTP server in the test, embedding the widget script from the tenant's host) chats with an agent in the
inbox; files go both ways; the agent's socket is cut while the visitor keeps writing, and on
reconnect everything arrives exactly once. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import http.server
import re
import socket
import threading

import pytest
from django_tenants.utils import tenant_context

from chat.models import Conversation, Message
from tests.chat.factories import CannedResponseFactory, InboxFactory
from tests.e2e.conftest import screenshot
from tests.factories import OWNER_PASSWORD, UserFactory

PNG = bytes.fromhex(  # a 24×24 blue square
    "89504e470d0a1a0a0000000d4948445200000018000000180806000000e0773df80000002549444154789c63d08f7ef59f96"
    "9861d482510b462d18b560d482510b462d18b56068580000a2ec830cdd1c7dcd0000000049454e44ae426082"
)
HOSTILE_CSS = "button, iframe { display: none !important; } * { font-size: 40px !important; }"


@pytest.fixture
def shop_server():
    """The customer's site on its own origin. A real server rather than page.route(): Chromium's
    local-network checks refuse a fulfilled (address-less, "public") page loading a script
    from loopback, which is where the tenant's host lives in this test."""
    page = {"html": b""}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page["html"])

        def log_message(self, *args):
            pass

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port, page
    server.shutdown()
    server.server_close()


@pytest.fixture
def shop(tenant, shop_server):
    """An inbox whose allowed origin is the shop, an agent, a canned response."""
    port, page = shop_server
    origin = f"http://shop.localhost:{port}"
    with tenant_context(tenant):
        inbox = InboxFactory(name="Loja Online", allowed_origins=[origin], greeting="Olá! Em que podemos ajudar?")
        agent = UserFactory(email="agente@alpha.example.com", name="Ana Agente")
        CannedResponseFactory(shortcut="oi", text="Oi! Sou a Ana, como posso ajudar?")
    return {"inbox": inbox, "agent": agent, "origin": origin, "page": page}


def open_shop(page, shop, url):
    """The customer's page: hostile CSS plus the one-line embed."""
    html = (
        f"<!doctype html><html><head><style>{HOSTILE_CSS}</style></head><body><h1>Loja de Teste</h1>"
        f'<script src="{url("alpha.localhost", "/widget.js")}" data-inbox="{shop["inbox"].public_key}" async></script>'
        "</body></html>"
    )
    shop["page"]["html"] = html.encode()
    page.goto(f"{shop['origin']}/")


def widget_frame(page):
    """The iframe lives in the loader's closed shadow root: find it among the page's frames."""
    for _ in range(100):
        for frame in page.frames:
            if "/widget/" in frame.url:
                frame.wait_for_load_state()
                return frame
        page.wait_for_timeout(100)
    raise AssertionError("the widget iframe never appeared")


def click_launcher(page):
    # Closed shadow root: no selector reaches the button, a person's click does.
    page.mouse.click(1280 - 20 - 28, 800 - 20 - 28)


def login_agent(page, url):
    page.goto(url("alpha.localhost", "/accounts/login/"))
    page.fill("#id_username", "agente@alpha.example.com")
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url("alpha.localhost", "/"))


def bodies(page_or_frame, selector) -> list[str]:
    return [t.strip() for t in page_or_frame.locator(selector).all_inner_texts()]


def test_visitor_and_agent_chat_files_and_a_cut_socket(page_factory, url, shop, tenant):
    agent = page_factory()
    login_agent(agent, url)
    agent.goto(url("alpha.localhost", "/inbox/"))
    agent.wait_for_selector("#conn-status.ok")

    visitor = page_factory()
    open_shop(visitor, shop, url)
    frame = widget_frame(visitor)
    frame.wait_for_selector(".m-greeting", state="attached")  # loaded, still closed
    click_launcher(visitor)
    frame.wait_for_selector(".m-greeting")
    assert "Em que podemos ajudar" in frame.inner_text(".m-greeting")
    frame.wait_for_selector("#w-body")
    frame.fill("#w-body", "Olá, meu pedido não chegou")
    frame.press("#w-body", "Enter")
    frame.wait_for_selector(".m-me[data-id]")

    # the new conversation appears in the agent's list, live
    row = agent.locator(".conv-row").first
    row.wait_for()
    assert row.locator(".unread").inner_text() == "1"
    row.locator("a").click()
    agent.wait_for_selector(".msg--contact >> text=meu pedido não chegou")
    agent.wait_for_selector("#conn-status.ok")

    # canned response: /oi + Tab expands, Enter sends
    agent.fill("#composer-body", "/oi")
    agent.press("#composer-body", "Tab")
    assert agent.input_value("#composer-body") == "Oi! Sou a Ana, como posso ajudar?"
    agent.press("#composer-body", "Enter")
    frame.wait_for_selector(".m-agent >> text=Sou a Ana")
    # a private note never reaches the visitor
    agent.check("#composer-private")
    agent.fill("#composer-body", "cliente recorrente")
    agent.press("#composer-body", "Enter")
    agent.wait_for_selector(".msg--private[data-id] >> text=cliente recorrente")
    agent.uncheck("#composer-private")

    # files both ways
    frame.set_input_files("#w-file", files=[{"name": "comprovante.png", "mimeType": "image/png", "buffer": PNG}])
    agent.wait_for_selector(".msg--contact img[alt='comprovante.png']")
    agent.set_input_files("#composer-file", files=[{"name": "nota.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}])
    frame.wait_for_selector(".m-agent a.m-file >> text=nota.pdf")
    screenshot(visitor, "chat-widget-visitor")
    screenshot(agent, "chat-inbox-agent")

    # cut the agent's socket and keep it down while the visitor writes
    agent.context.set_offline(True)
    agent.evaluate("window.orbitInbox.drop()")
    agent.wait_for_selector("#conn-status:not(.ok)")
    for n in range(3):
        frame.fill("#w-body", f"enquanto você estava fora {n}")
        frame.press("#w-body", "Enter")
    frame.wait_for_function("document.querySelectorAll('.m-me[data-id]').length >= 5")
    # the agent writes too, while offline: it waits in the outbox
    agent.fill("#composer-body", "escrevi sem conexão")
    agent.press("#composer-body", "Enter")
    assert agent.locator(".msg.is-pending").count() == 1
    screenshot(agent, "chat-inbox-offline")
    agent.context.set_offline(False)
    agent.wait_for_selector("#conn-status.ok", timeout=20000)
    for n in range(3):
        agent.wait_for_selector(f".msg--contact >> text=enquanto você estava fora {n}")
    frame.wait_for_selector(".m-agent >> text=escrevi sem conexão")
    agent.wait_for_function("!document.querySelector('.msg.is-pending')")

    # nothing missed, nothing duplicated: the page shows exactly what PostgreSQL holds
    with tenant_context(tenant):
        conversation = Conversation.objects.get(inbox=shop["inbox"])
        stored = list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("id", "seq"))
        public = list(
            Message.objects.filter(conversation=conversation, is_private=False).order_by("seq").values_list("id", flat=True)
        )
    ids = [int(i) for i in agent.eval_on_selector_all("#messages .msg", "els => els.map(e => e.dataset.id)")]
    assert ids == [i for i, _ in stored] and len(set(ids)) == len(ids)
    assert [s for _, s in stored] == list(range(1, len(stored) + 1))
    visitor_ids = [int(i) for i in frame.eval_on_selector_all(".m[data-id]", "els => els.map(e => e.dataset.id)")]
    assert visitor_ids == public  # no notes, no duplicates, in order
    assert "cliente recorrente" not in frame.inner_text("#w-log")
    screenshot(agent, "chat-inbox-resumed")

    # resolve from the side panel (htmx), the visitor is told
    agent.click("#resolve")
    agent.wait_for_selector("#reopen")
    frame.wait_for_selector(".m-sys >> text=/encerrada/")

    # history survives a page load (visitor token in localStorage)
    # (Chromium denies this third-party iframe its own storage here: the loader keeps the token.)
    visitor.reload()
    frame = widget_frame(visitor)
    frame.wait_for_selector(".m-me >> text=enquanto você estava fora 2", state="attached")  # closed widget
    assert re.search(r"meu pedido não chegou", frame.inner_text("#w-log"))
    assert len(frame.eval_on_selector_all(".m[data-id]", "els => els.map(e => e.dataset.id)")) == len(public)

    # closed widget + a new agent message = an unread count for the launcher's badge
    visitor.evaluate(
        "window.__unread = []; addEventListener('message', e => e.data && e.data.orbit === 'unread' && __unread.push(e.data.n))"
    )
    agent.fill("#composer-body", "Mais alguma dúvida?")
    agent.press("#composer-body", "Enter")
    frame.wait_for_selector(".m-agent >> text=Mais alguma dúvida?", state="attached")
    visitor.wait_for_function("window.__unread.includes(1)")
    click_launcher(visitor)
    visitor.wait_for_function("window.__unread[window.__unread.length - 1] === 0")
    screenshot(visitor, "chat-widget-after-reload")


def test_offline_message_is_stored(page_factory, url, shop, tenant):
    """No agent online: the widget offers to leave a message (with an e-mail), which is stored."""
    visitor = page_factory(locale="en-US")
    open_shop(visitor, shop, url)
    frame = widget_frame(visitor)
    click_launcher(visitor)
    frame.wait_for_selector("#w-offline:not([hidden])")
    frame.fill("#w-email", "maria@example.com")
    frame.fill("#w-body", "Please call me back")
    frame.press("#w-body", "Enter")
    frame.wait_for_selector(".m-me[data-id]")
    frame.wait_for_selector(".m-sys >> text=We got your message")
    screenshot(visitor, "chat-widget-offline")
    with tenant_context(tenant):
        conversation = Conversation.objects.select_related("contact").get(inbox=shop["inbox"])
        assert conversation.contact.email == "maria@example.com"
        assert conversation.messages.get().body == "Please call me back"
