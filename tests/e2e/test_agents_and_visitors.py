"""Issue 13, "Agents and visitors", in headless Chromium at a desktop (1280×800) and a phone
(390×844, touch) size: the widget sends from a phone (the launcher never lies on the open panel;
real taps on the buttons, so an overlap would swallow them), its touch targets are at
least 44 px, a visitor sees their own attachments, the reports chart draws real bars in both
languages with ISO date inputs, and the inbox and reports pages fit a phone's width.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from chat.models import Conversation, Message
from tests.chat.factories import ContactFactory, ConversationFactory, InboxFactory, LabelFactory, TeamFactory
from tests.e2e.conftest import screenshot
from tests.e2e.test_chat import HOSTILE_CSS, shop_server, widget_frame  # noqa: F401
from tests.factories import OWNER_PASSWORD, UserFactory, owner_email

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
TOUCH_MIN = 44
PDF = b"%PDF-1.4\n%%EOF\n"


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain square of one colour (orange below: it shows on the widget's blue bubble)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PHOTO = png(96, 64, (240, 140, 40))
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture
def device(browser, live_db, live_server_port):
    """device(size, locale) → a page in a new context of that size; contexts closed after."""
    contexts = []

    def make(size: str, locale: str = "pt-BR"):
        context = browser.new_context(locale=locale, **SIZES[size])
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shop(tenant, shop_server):  # noqa: F811
    """An inbox on the shop's origin that asks the visitor's name and e-mail first."""
    port, page = shop_server
    origin = f"http://shop.localhost:{port}"
    with tenant_context(tenant):
        inbox = InboxFactory(
            name="Loja Online",
            allowed_origins=[origin],
            greeting="Olá! Em que podemos ajudar?",
            prechat_fields=[
                {"name": "name", "label": "Seu nome", "type": "text", "required": True},
                {"name": "email", "label": "E-mail", "type": "email", "required": True},
            ],
        )
    return {"inbox": inbox, "origin": origin, "page": page}


def open_shop(page, shop, url):
    """The customer's page, as a phone-ready site declares itself (viewport meta), plus the embed."""
    shop["page"]["html"] = (
        '<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{HOSTILE_CSS}</style></head><body><h1>Loja de Teste</h1>"
        f'<script src="{url("alpha.localhost", "/widget.js")}" data-inbox="{shop["inbox"].public_key}" async></script>'
        "</body></html>"
    ).encode()
    page.goto(f"{shop['origin']}/")


def press(page, x: float, y: float) -> None:
    """What a person does at that point of the screen: a tap on a phone, a click elsewhere.
    Whatever lies on top there gets it, as for a person."""
    if page.viewport_size["width"] < 600:  # the phone size of `device`, a touch screen
        page.touchscreen.tap(x, y)
    else:
        page.mouse.click(x, y)


def press_centre(page, locator, across: float = 0.5) -> None:
    """Press the element at its middle, or `across` (0–1) of its width from the left."""
    box = locator.bounding_box()
    assert box, "not on screen"
    press(page, box["x"] + box["width"] * across, box["y"] + box["height"] / 2)


def press_launcher(page) -> None:
    # In a closed shadow root: no selector reaches it, a person's tap does (right/bottom 20 px, 56 px).
    size = page.viewport_size
    press(page, size["width"] - 48, size["height"] - 48)


def panel_open(frame) -> bool:
    """The iframe has a box only while the launcher shows it."""
    return frame.locator(".w-head").bounding_box() is not None


def wait_until(condition, page, timeout_ms: int = 5000) -> None:
    for _ in range(timeout_ms // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("timed out")


def fits(page) -> tuple[int, int]:
    """(the page's width, the screen's). Not window.innerWidth: a phone zooms out to show an
    overflowing page whole, and innerWidth grows with it."""
    return page.evaluate("document.documentElement.scrollWidth"), page.viewport_size["width"]


def login(page, url, email: str) -> None:
    page.goto(url("alpha.localhost", "/accounts/login/"))
    page.fill("#id_username", email)
    page.fill("#id_password", OWNER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url("alpha.localhost", "/"))


# --- 1. the widget sends from a phone ------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_visitor_starts_and_sends_by_tapping(device, url, shop, tenant, size):
    visitor = device(size)
    open_shop(visitor, shop, url)
    frame = widget_frame(visitor)
    frame.wait_for_selector(".m-greeting", state="attached")
    press_launcher(visitor)
    frame.wait_for_selector("#w-prechat:not([hidden])")
    assert panel_open(frame)

    # every touch target of the open panel is at least 44 × 44 px
    for selector in ("#w-close", "#w-prechat button[type=submit]", "#pf-1", "#pf-2"):
        box = frame.locator(selector).bounding_box()
        assert box["width"] >= TOUCH_MIN and box["height"] >= TOUCH_MIN, (selector, box)

    frame.fill("#pf-1", "Marta Souza")
    frame.fill("#pf-2", "marta@example.com")
    screenshot(visitor, f"visitors-widget-prechat-{size}")
    # the full-width button's right end, where a launcher in the corner would lie
    press_centre(visitor, frame.locator("#w-prechat button[type=submit]"), across=0.9)
    assert panel_open(frame), "tapping 'Iniciar conversa' closed the chat"
    frame.wait_for_selector("#w-form:not([hidden])")
    for selector in ("#w-body", ".w-send", "#w-attach-label"):
        box = frame.locator(selector).bounding_box()
        assert box["width"] >= TOUCH_MIN and box["height"] >= TOUCH_MIN, (selector, box)

    frame.fill("#w-body", f"Quero trocar o tamanho do pedido ({size})")
    press_centre(visitor, frame.locator(".w-send"))
    assert panel_open(frame), "tapping Send closed the chat"
    frame.wait_for_selector(f".m-me[data-id] >> text=Quero trocar o tamanho do pedido ({size})")
    assert frame.input_value("#w-body") == ""
    screenshot(visitor, f"visitors-widget-sent-{size}")
    with tenant_context(tenant):
        conversation = Conversation.objects.select_related("contact").get(inbox=shop["inbox"])
        assert conversation.contact.name == "Marta Souza"
        assert list(conversation.messages.values_list("body", flat=True)) == [f"Quero trocar o tamanho do pedido ({size})"]
        shown = int(frame.get_attribute(".m-me[data-id]", "data-id"))
        assert Message.objects.get(pk=shown).conversation_id == conversation.pk

    # the close button closes; the launcher is back where it was and opens the panel again
    press_centre(visitor, frame.locator("#w-close"))
    wait_until(lambda: not panel_open(frame), visitor)
    screenshot(visitor, f"visitors-widget-closed-{size}")
    press_launcher(visitor)
    frame.wait_for_selector(".w-send", state="visible")
    assert panel_open(frame)


# --- 3. a visitor's own attachments --------------------------------------------------------------

FETCH = """async (href) => {
  const r = await fetch(href);
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { status: r.status, type: r.headers.get("content-type"), head: String.fromCharCode(...bytes.slice(0, 5)) };
}"""
# the text's colour and the colour actually behind it (the first opaque background up the tree)
INK = """(el) => {
  let bg = el;
  while (bg && getComputedStyle(bg).backgroundColor === "rgba(0, 0, 0, 0)") bg = bg.parentElement;
  return [getComputedStyle(el).color, bg ? getComputedStyle(bg).backgroundColor : "rgb(255, 255, 255)"];
}"""


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_visitor_sees_their_own_files(device, url, shop, tenant, size):
    visitor = device(size)
    open_shop(visitor, shop, url)
    frame = widget_frame(visitor)
    press_launcher(visitor)
    frame.wait_for_selector("#w-prechat:not([hidden])")
    frame.fill("#pf-1", "Marta Souza")
    frame.fill("#pf-2", "marta@example.com")
    press_centre(visitor, frame.locator("#w-prechat button[type=submit]"))
    frame.wait_for_selector("#w-attach-label:not([hidden])")

    frame.set_input_files("#w-file", files=[{"name": "nota.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    chip = frame.locator(".m-me[data-id] a.m-file")
    chip.wait_for()
    assert chip.inner_text().strip() == "nota.pdf"
    # legible: its text is not painted in the chip's own colour (the blank chip)
    ink, paper = chip.evaluate(INK)
    assert ink != paper, (ink, paper)
    box = chip.bounding_box()
    assert box["width"] >= TOUCH_MIN and box["height"] >= TOUCH_MIN, box
    served = frame.evaluate(FETCH, chip.get_attribute("href"))
    assert served == {"status": 200, "type": "application/pdf", "head": "%PDF-"}

    frame.set_input_files("#w-file", files=[{"name": "comprovante.png", "mimeType": "image/png", "buffer": PHOTO}])
    image = frame.locator(".m-me[data-id] a.m-image")
    image.wait_for()
    assert image.inner_text().strip() == "comprovante.png"  # the name, beside the preview
    frame.wait_for_function("document.querySelector('.m-me[data-id] a.m-image img').naturalWidth === 96")  # the preview
    served = frame.evaluate(FETCH, image.get_attribute("href"))
    assert served == {"status": 200, "type": "image/png", "head": "\x89PNG\r"}
    ink, paper = image.locator(".m-name").evaluate(INK)
    assert ink != paper, (ink, paper)
    assert frame.locator(".m.is-failed, .m.is-pending").count() == 0
    screenshot(visitor, f"visitors-widget-own-files-{size}")
    with tenant_context(tenant):
        names = sorted(
            Message.objects.filter(conversation__inbox=shop["inbox"]).values_list("attachments__original_name", flat=True)
        )
    assert names == ["comprovante.png", "nota.pdf"]


# --- 2. the reports chart, both languages -------------------------------------------------------

COUNTS = {0: 2, 2: 1, 5: 4}  # days ago → conversations; every other day of the 30 is zero


@pytest.fixture
def history(tenant):
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    with tenant_context(tenant):
        inbox = InboxFactory(name="Site")
        # an agent known only by a long e-mail, and a team: the tables' widest cells
        agent = UserFactory(email="atendimento.noturno.sao.paulo@alpha.example.com", name="")
        team = TeamFactory(name="Pós-venda e trocas")
        for days, n in COUNTS.items():
            created = dt.datetime.combine(today - dt.timedelta(days=days), dt.time(12), tzinfo=tz)
            for _ in range(n):
                conv = ConversationFactory(inbox=inbox, contact=ContactFactory(), assignee=agent, team=team)
                Conversation.objects.filter(pk=conv.pk).update(created_at=created)
    return today


CHART = """() => {
  const svg = document.querySelector(".report-chart svg");
  const attrs = [];
  for (const el of svg.querySelectorAll("rect, line, text"))
    for (const name of ["x", "y", "width", "height", "x1", "x2", "y1", "y2"])
      if (el.hasAttribute(name)) attrs.push(el.getAttribute(name));
  const bars = [...svg.querySelectorAll("rect")].map((r) => {
    const b = r.getBoundingClientRect();
    return { w: b.width, h: b.height, n: r.dataset.n };
  });
  return { attrs, bars };
}"""


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("locale", ["pt-BR", "en-US"])
def test_reports_chart_and_dates(device, url, history, locale, size):
    today = history
    owner = device(size, locale)
    login(owner, url, owner_email("alpha"))
    owner.goto(url("alpha.localhost", "/reports/"))
    assert owner.locator("html").get_attribute("lang") == ("pt-br" if locale == "pt-BR" else "en")

    # the date inputs carry ISO values the browser understands (not an empty mm/dd/yyyy)
    start = (today - dt.timedelta(days=29)).isoformat()
    assert owner.input_value("#id_start") == start and owner.input_value("#id_end") == today.isoformat()
    assert owner.evaluate("document.querySelector('#id_start').valueAsDate.toISOString().slice(0, 10)") == start

    chart = owner.evaluate(CHART)
    bad = [a for a in chart["attrs"] if not NUMBER.match(a)]
    assert not bad, bad  # machine numbers, never "188,4"
    drawn = [b for b in chart["bars"] if b["w"] > 0 and b["h"] > 0]
    assert sorted(int(b["n"]) for b in drawn) == sorted(COUNTS.values())  # zero days: nothing drawn
    heights = {int(b["n"]): b["h"] for b in drawn}
    assert heights[4] == pytest.approx(4 * heights[1], rel=0.02) and heights[2] == pytest.approx(2 * heights[1], rel=0.02)
    assert len(chart["bars"]) == len(COUNTS)  # and no zero-day rect at all

    # a new range through the form comes back as the same ISO values
    owner.fill("#id_start", (today - dt.timedelta(days=6)).isoformat())
    owner.click(".report-range button[type=submit]")
    owner.wait_for_url(re.compile(r"start=\d{4}-\d{2}-\d{2}"))
    assert owner.input_value("#id_start") == (today - dt.timedelta(days=6)).isoformat()
    assert len([b for b in owner.evaluate(CHART)["bars"] if b["h"] > 0]) == 3

    screenshot(owner, f"visitors-reports-{locale}-{size}")
    width, viewport = fits(owner)
    assert width <= viewport, f"reports are {width} px wide in a {viewport} px window"


# --- 4. the inbox on a phone ----------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_inbox_fits_the_screen(device, url, tenant, size):
    with tenant_context(tenant):
        agent = UserFactory(email="agente@alpha.example.com", name="Ana Agente")
        inbox = InboxFactory(name="Loja")
        team = TeamFactory(name="Suporte Técnico")
        labels = [LabelFactory(name="pagamento"), LabelFactory(name="urgente")]
        for n in range(3):
            conv = ConversationFactory(
                inbox=inbox, contact=ContactFactory(name=f"Cliente com um nome bem comprido {n}"), assignee=agent, team=team
            )
            conv.labels.add(*labels)
    page = device(size)
    login(page, url, "agente@alpha.example.com")
    page.goto(url("alpha.localhost", "/inbox/"))
    page.wait_for_selector("#conn-status.ok")
    screenshot(page, f"visitors-inbox-list-{size}")
    width, viewport = fits(page)
    assert width <= viewport, f"the inbox list is {width} px wide in a {viewport} px window"

    page.locator(".conv-row a").first.click()
    page.wait_for_selector("#composer-body")
    screenshot(page, f"visitors-inbox-conversation-{size}")
    width, viewport = fits(page)
    assert width <= viewport, f"a conversation is {width} px wide in a {viewport} px window"
