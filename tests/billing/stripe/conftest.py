"""Stripe for the tests: a real localstripe server (PyPI, GPL-3.0: run as a separate process,
never imported) on loopback, started once per test session; correctly signed, real-shaped
webhook POSTs at dj-stripe's real endpoint; and, for what localstripe lacks (Checkout and
Billing Portal sessions), a loopback server answering those two with recorded Stripe bodies
and passing everything else on to localstripe."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
import redis
import stripe
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection

from billing import services
from billing.models import Invoice, Subscription
from tests.billing.conftest import bill_from, closable_now, last_period

KEY = "sk_test_" + "OrbitLocalstripe" * 2  # localstripe wants ^sk_test_[a-zA-Z0-9]{24,}$
WEBHOOK_SECRET = "whsec_orbit_tests_5a1b0d3c9e"
RECORDED = Path(__file__).resolve().parent / "recorded"
VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
# localstripe: attaches, then every charge on it is declined
DECLINED_CARD = {"number": "4000000000000341", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
# localstripe runs bound to loopback only (its own CLI listens on every interface) and never
# pickles its store to /tmp/localstripe.pickle (shared by every localstripe on the machine).
LAUNCH = (
    "import sys\n"
    "import localstripe.resources as resources\n"
    "resources.Store.dump_to_disk = lambda self: None\n"
    "from aiohttp import web\n"
    "from localstripe.server import app\n"
    "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None)\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen

    def request(self, method: str, path: str, data: dict | None = None) -> dict:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Authorization": f"Bearer {KEY}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else {}

    def flush(self) -> None:
        self.request("DELETE", "/_config/data")

    def events(self, kind: str | None = None) -> list[dict]:
        query = "?limit=100" + (f"&type={kind}" if kind else "")
        return self.request("GET", f"/v1/events{query}")["data"]

    def event_for(self, kind: str, object_id: str) -> dict:
        found = [e for e in self.events(kind) if e["data"]["object"]["id"] == object_id]
        assert found, f"localstripe has no {kind} event for {object_id}"
        return found[0]

    def deliver_to(self, url: str, *, events: list[str]) -> None:
        """localstripe POSTs these events, signed with WEBHOOK_SECRET, to `url` (a second after each)."""
        self.request("POST", "/_config/webhooks/orbit", {"url": url, "secret": WEBHOOK_SECRET, "events[]": events})

    def stop_delivering(self) -> None:
        self.request("POST", "/_config/webhooks/orbit",
                     {"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET, "events[]": ["none.none"]})


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    port = free_port()
    workdir = tmp_path_factory.mktemp("localstripe")
    log = open(workdir / "localstripe.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-c", LAUNCH, str(port)], cwd=workdir,
                               stdout=log, stderr=subprocess.STDOUT)
    server = LocalStripe(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited: {(workdir / 'localstripe.log').read_text()[-2000:]}")
        try:
            urllib.request.urlopen(server.url + "/v1/customers", timeout=0.5)
        except urllib.error.HTTPError:  # 401 without a key: it is up
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.05)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def stripe_on(settings, localstripe):
    """Stripe configured as ORBIT_STRIPE_* would configure it, against a fresh localstripe."""
    localstripe.flush()
    settings.ORBIT_STRIPE_SECRET_KEY = KEY
    settings.STRIPE_TEST_SECRET_KEY = KEY
    settings.STRIPE_LIVE_MODE = False
    settings.ORBIT_STRIPE_API_BASE = localstripe.url
    settings.ORBIT_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.ORBIT_STRIPE_PAYMENT_METHOD_TYPES = ["card"]
    settings.DJSTRIPE_WEBHOOK_EVENT_CALLBACK = "billing.stripe.webhooks.webhook_trigger_process"
    previous = stripe.api_base
    stripe.api_base = localstripe.url  # dj-stripe's own calls use the SDK's module-level address
    yield localstripe
    stripe.api_base = previous


@pytest.fixture
def djstripe_clean(live_db):
    """Committed tests: dj-stripe's rows go with the rest (reset_to_session_state keeps them)."""
    yield
    tables = [m._meta.db_table for m in apps.get_app_config("djstripe").get_models()]
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"public"."{t}"' for t in tables) + " CASCADE")


# --- Orbit side -----------------------------------------------------------------------


def open_invoice(org, *, unpaid: bool = False) -> Invoice:
    """Close last month for `org` through the real period close: an open invoice for the
    next month's base fee (Professional: R$ 497,00). `unpaid`: the subscription is past due."""
    bill_from(org)
    if unpaid:
        Subscription.objects.filter(organization_id=org.pk).update(status=Subscription.Status.PAST_DUE)
        type(org).objects.filter(pk=org.pk).update(status="past_due")
    services.period_close(period=last_period(), organization_ids=[org.pk], now=closable_now())
    invoice = Invoice.objects.get(organization_id=org.pk, period=last_period(), kind=Invoice.Kind.PERIOD)
    assert invoice.status == Invoice.Status.OPEN and invoice.amount_due == Decimal("497.00")
    return invoice


def save_card(org, card: dict | None = None) -> str:
    """What the customer does through Checkout or the Billing Portal: a card, the default for invoices."""
    from billing.stripe.client import client
    from billing.stripe.customers import customer_ensure

    customer = customer_ensure(organization=org)
    api = client()
    payment_method = api.v1.payment_methods.create(params={"type": "card", "card": card or VISA})
    api.v1.payment_methods.attach(payment_method.id, params={"customer": customer})
    api.v1.customers.update(customer, params={"invoice_settings": {"default_payment_method": payment_method.id}})
    return payment_method.id


# --- webhooks -------------------------------------------------------------------------


def signature(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def post_event(client, event: dict | str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None,
               header: str | None = None):
    """POST an event to dj-stripe's endpoint the way Stripe does."""
    from billing.stripe.webhooks import webhook_path

    payload = event if isinstance(event, str) else json.dumps(event)
    extra = {"HTTP_STRIPE_SIGNATURE": header if header is not None else signature(payload, secret=secret,
                                                                                   timestamp=timestamp)}
    return client.post(webhook_path(), data=payload, content_type="application/json", **extra)


def broker_tasks() -> list[tuple[str, str]]:
    """(task name, args) of the messages waiting on this test slot's Celery broker."""
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    messages = [json.loads(raw) for raw in client.lrange("celery", 0, -1)]
    return [(m["headers"]["task"], m["headers"].get("argsrepr", "")) for m in messages]


# --- the recorded edge: Checkout and Billing Portal -------------------------------------


@dataclass
class RecordedEdge:
    """Answers POST /v1/checkout/sessions and /v1/billing_portal/sessions with the recorded
    Stripe body (ids and URLs from the request filled in), passes anything else on to
    localstripe, and keeps the form of each session request it answered."""

    upstream: str
    requests: list[tuple[str, dict]] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, form: dict) -> dict | None:
        name = {"/v1/checkout/sessions": "checkout_session.json",
                "/v1/billing_portal/sessions": "billing_portal_session.json"}.get(path)
        if name is None:
            return None
        self.requests.append((path, form))
        body = json.loads((RECORDED / name).read_text())
        body["customer"] = form.get("customer", [body.get("customer")])[0]
        for key in ("success_url", "cancel_url", "return_url"):
            if key in form:
                body[key] = form[key][0]
        body["created"] = int(time.time())
        return body


@pytest.fixture
def recorded_edge(stripe_on, settings):
    edge = RecordedEdge(upstream=stripe_on.url)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _forward(self, body: bytes | None):
            headers = {k: v for k, v in self.headers.items() if k.lower() in (
                "authorization", "content-type", "idempotency-key", "stripe-version")}
            request = urllib.request.Request(edge.upstream + self.path, data=body, method=self.command,
                                             headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status, raw = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, raw = error.code, error.read()
            self._send(status, raw)

        def _send(self, status: int, raw: bytes):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            self._forward(None)

        def do_DELETE(self):
            self._forward(None)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urllib.parse.urlsplit(self.path).path
            answer = edge.answer(path, urllib.parse.parse_qs(body.decode()))
            if answer is None:
                self._forward(body)
            else:
                self._send(200, json.dumps(answer).encode())

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    edge.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.ORBIT_STRIPE_API_BASE = edge.url
    yield edge
    server.shutdown()
    server.server_close()
