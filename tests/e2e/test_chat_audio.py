"""Audio messages end to end, in headless Chromium with a fake microphone
(--use-fake-device-for-media-stream: a beeping test signal; --use-fake-ui-for-media-stream and a
granted permission: no prompt). A visitor on a customer's page records a clip in the widget; it is
uploaded, stored under tenants/<schema>/uploads/audio/, and the agent sees an <audio> element
in the inbox whose signed URL answers 200 with an audio type and plays. The agent records one
back. On a plan without the audio feature neither side shows a record button."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django_tenants.utils import tenant_context

from billing.models import Plan
from chat.models import Attachment, Conversation
from tenants.models import Organization
from tests.e2e.conftest import launch_chromium, screenshot
from tests.e2e.test_chat import click_launcher, login_agent, open_shop, shop, shop_server, widget_frame  # noqa: F401

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"]

# fetch the <audio> element's URL as the page would, and load it into a media element
PROBE = """async (selector) => {
  const el = document.querySelector(selector);
  const r = await fetch(el.src, { credentials: "same-origin" });
  const bytes = (await r.arrayBuffer()).byteLength;
  const probe = new Audio();
  probe.preload = "auto";
  const playable = await new Promise((done) => {
    probe.onloadedmetadata = () => done(true);
    probe.onerror = () => done(false);
    setTimeout(() => done(false), 10000);
    probe.src = el.src;
  });
  return { status: r.status, type: r.headers.get("content-type"), bytes, playable };
}"""


@pytest.fixture(scope="module")
def browser():
    """Chromium with a fake microphone; overrides tests/e2e/conftest.py's `browser` here."""
    yield from launch_chromium(tuple(FAKE_MEDIA))


def _with_microphone(page):
    page.context.grant_permissions(["microphone"])
    return page


def _record(target, button: str, seconds: float = 1.5):
    target.click(button)
    target.wait_for_selector(f"{button}[aria-pressed=true]")
    target.wait_for_timeout(int(seconds * 1000))
    target.click(button)
    target.wait_for_selector(f"{button}[aria-pressed=false]")


def test_visitor_records_audio_and_the_agent_hears_it(page_factory, url, shop, tenant):  # noqa: F811
    agent = _with_microphone(page_factory())
    login_agent(agent, url)
    agent.goto(url("alpha.localhost", "/inbox/"))
    agent.wait_for_selector("#conn-status.ok")

    visitor = _with_microphone(page_factory())
    open_shop(visitor, shop, url)
    frame = widget_frame(visitor)
    click_launcher(visitor)
    frame.wait_for_selector("#w-rec:not([hidden])")
    frame.fill("#w-body", "Vou mandar um áudio")
    frame.press("#w-body", "Enter")
    frame.wait_for_selector(".m-me[data-id]")

    _record(frame, "#w-rec")
    frame.wait_for_selector(".m-me[data-id] audio")
    assert frame.locator(".m.is-failed").count() == 0
    visitor_side = frame.evaluate(PROBE, ".m-me[data-id] audio")
    assert visitor_side["status"] == 200 and visitor_side["type"].startswith("audio/") and visitor_side["bytes"] > 500
    screenshot(visitor, "chat-audio-widget")

    # the agent: the conversation in the list, an <audio> whose signed URL serves the clip
    agent.locator(".conv-row a").first.click()
    agent.wait_for_selector(".msg--contact audio")
    agent.wait_for_selector("#conn-status.ok")
    heard = agent.evaluate(PROBE, ".msg--contact audio")
    assert heard["status"] == 200 and heard["type"] == "audio/webm" and heard["bytes"] == visitor_side["bytes"]
    assert heard["playable"], "Chromium could not load the stored clip's metadata"
    with tenant_context(tenant):
        conversation = Conversation.objects.get(inbox=shop["inbox"])
        attachment = Attachment.objects.get(message__conversation=conversation)
        assert attachment.kind == "audio" and attachment.content_type == "audio/webm" and attachment.size == heard["bytes"]
        assert attachment.file.startswith(f"tenants/{tenant.schema_name}/uploads/audio/")

    # and the agent answers with a clip of their own, which reaches the visitor
    agent.wait_for_selector("#composer-record:not([hidden])")
    _record(agent, "#composer-record")
    agent.wait_for_selector(".msg--agent[data-id] audio")
    frame.wait_for_selector(".m-agent audio")
    answer = frame.evaluate(PROBE, ".m-agent audio")
    assert answer["status"] == 200 and answer["type"] == "audio/webm" and answer["playable"]
    screenshot(agent, "chat-audio-inbox")
    screenshot(visitor, "chat-audio-widget-answer")
    with tenant_context(tenant):
        assert Attachment.objects.filter(message__conversation=conversation, kind="audio").count() == 2


def test_a_plan_without_audio_shows_no_record_button(page_factory, url, shop, tenant):  # noqa: F811
    starter = Plan.objects.get(code="starter")
    assert starter.has_feature("files") and not starter.has_feature("audio")
    Organization.objects.filter(pk=tenant.pk).update(plan=starter)  # the session reset puts it back
    caches["default"].clear()  # the host → organization cache holds the plan it had
    caches["shared"].clear()

    visitor = _with_microphone(page_factory())
    open_shop(visitor, shop, url)
    frame = widget_frame(visitor)
    click_launcher(visitor)
    frame.wait_for_selector("#w-attach-label:not([hidden])")  # files: yes
    assert frame.locator("#w-rec").is_hidden()
    frame.fill("#w-body", "Sem áudio neste plano")
    frame.press("#w-body", "Enter")
    frame.wait_for_selector(".m-me[data-id]")
    screenshot(visitor, "chat-audio-off-widget")

    agent = _with_microphone(page_factory())
    login_agent(agent, url)
    agent.goto(url("alpha.localhost", "/inbox/"))
    agent.locator(".conv-row a").first.click()
    agent.wait_for_selector("#composer-body")
    assert agent.locator("#composer-record").count() == 0 or agent.locator("#composer-record").is_hidden()
    assert agent.locator("label[for=composer-file]").is_visible()
    screenshot(agent, "chat-audio-off-inbox")
