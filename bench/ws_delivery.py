"""Benchmark: websocket message delivery, Orbit's chat protocol against a bare Channels echo.

    .venv/bin/python bench/ws_delivery.py [--conversations 100] [--rates 100,200,400,600,800,1000]
                                          [--duration 8] [--workers <cores>] [--idle 1000]

N conversations, each with a visitor socket (/ws/widget/<key>/) and an agent socket
(/ws/agent/, API token, subscribed to its conversation), on a real uvicorn server on a
free loopback port. At each target total rate, messages go out open-loop, alternating
visitor → agent and agent → visitor over the conversations; latency is from the send to
the other side's `message.new`. Lost = sent but never seen by the other side (after a
drain), duplicates = the same message seen twice by one socket. In the same run and the
same server process(es), with the same clients and the same Redis, two echoes without a
database are measured:

* `echo` — the baseline the aim names, a bare Channels echo as one writes it from the
  docs: AsyncWebsocketConsumer + group_send on channels-redis' default (core) layer, with
  only the two host options redis-py 8 needs to work at all (no socket timeout, a large
  pool; DESIGN.md);
* `echo-pubsub` — the same consumer on Orbit's own layer (orbit.lib.channel_layer): what
  delivery alone costs on the layer chat uses, the floor under chat's figures.

Then `--idle` extra idle widget sockets are opened and the server's RSS growth per 1,000
sockets is reported.

Runs on its own database (`orbit_bench_ws_<pid>`, created and dropped here) and its own Redis
logical database (--redis-db) and channel-layer prefix; dev data is never touched.
The client runs on the same machine as the server: it takes CPU from it, alike for both
ways; compare the ratio, not the absolute numbers."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    RESULTS,
    bench_database_name,
    database_drop,
    database_recreate,
    percentile,
    redis_flush,
    settings_use_redis_db,
    source_database_url,
    with_database,
    write_json,
)

BENCH_DB = bench_database_name("orbit_bench_ws")
DEFAULT_JSON = RESULTS / "ws_delivery.json"
AIM_RATE = 200
AIM_P99_MS = 50.0
LIMIT_P99_MS = 100.0
AIM_IDLE_KB = 40.0
SLUG = "wsbench"
CORE_LAYER = "bench_core"
ECHO_PATHS = {"echo": "/bench/echo/", "echo-pubsub": "/bench/echo-pubsub/"}
MODES = ("echo", "echo-pubsub", "chat")


# --- server side ----------------------------------------------------------------------


def configure_django() -> None:
    """Settings for the bench (env set by main): its database, Redis database and layer prefix."""
    redis = settings_use_redis_db(int(os.environ["ORBIT_BENCH_REDIS_DB"]))
    from django.conf import settings

    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "orbit_bench"
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] = redis
    settings.CHANNEL_LAYERS[CORE_LAYER] = {  # the bare echo's layer, as channels-redis ships it
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": redis, "socket_timeout": None, "max_connections": 20000}],
                   "prefix": "orbit_bench_core"},
    }
    settings.LOGGING["root"]["level"] = "WARNING"


def app_factory():
    """uvicorn's factory, in each worker: the Orbit application plus the bare echo route."""
    configure_django()
    if os.environ.get("ORBIT_BENCH_PROFILE"):  # a pstats file of the server's CPU time, all threads (needs yappi)
        import atexit

        import yappi

        yappi.set_clock_type("cpu")
        yappi.start()
        out = f"{os.environ['ORBIT_BENCH_PROFILE']}.{os.getpid()}"
        atexit.register(lambda: (yappi.stop(), yappi.get_func_stats().save(out, type="pstat")))
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import URLRouter
    from django.urls import path

    from orbit.asgi import application

    class EchoConsumer(AsyncWebsocketConsumer):
        """A bare Channels echo as one writes it from the docs: group_send, default dispatch,
        channels-redis' default (core) layer."""

        channel_layer_alias = CORE_LAYER

        async def connect(self):
            self.group = f"bench.echo.{self.scope['url_route']['kwargs']['pair']}"
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.accept()

        async def disconnect(self, code):
            await self.channel_layer.group_discard(self.group, self.channel_name)

        async def receive(self, text_data=None, bytes_data=None):
            await self.channel_layer.group_send(self.group, {"type": "echo.message", "text": text_data})

        async def echo_message(self, event):
            await self.send(text_data=event["text"])

    class PubSubEchoConsumer(EchoConsumer):
        """The same echo on Orbit's layer (settings.CHANNEL_LAYERS["default"])."""

        channel_layer_alias = "default"

    echo = URLRouter([
        path("bench/echo/<str:pair>/", EchoConsumer.as_asgi()),
        path("bench/echo-pubsub/<str:pair>/", PubSubEchoConsumer.as_asgi()),
    ])

    async def app(scope, receive, send):
        if scope["type"] == "websocket" and scope["path"].startswith("/bench/echo"):
            return await echo(scope, receive, send)
        return await application(scope, receive, send)

    return app


def serve(port: int, workers: int) -> None:
    import uvicorn

    from orbit.run import UVICORN_OPTIONS  # the same options as make run and the Docker image

    uvicorn.run(
        "bench.ws_delivery:app_factory",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        lifespan="off",
        **UVICORN_OPTIONS,
    )


# --- set-up ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if port == 8000:
        return free_port()
    return port


def build_world(conversations: int) -> dict:
    """One tenant: an inbox, an agent with an API token, N contacts with a conversation each."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    call_command("migrate_schemas", interactive=False, verbosity=0)
    from tenants.models import Organization
    from tenants.services import organization_create

    org = organization_create(
        name="WS Bench", slug=SLUG, plan="enterprise", owner_email="owner@wsbench.example.com",
        owner_password="senha-forte-123", status=Organization.Status.ACTIVE, use_pool=False,
    )
    from accounts.models import ApiToken, User
    from chat.models import Contact, Conversation, Inbox
    from chat.services.visitors import visitor_token

    with tenant_context(org):
        inbox = Inbox.objects.create(name="Bench", auto_assign=False)
        agent = User.objects.create_user("agent@wsbench.example.com", "senha-forte-123", role="admin", name="Bench")
        _, token = ApiToken.objects.issue(user=agent, name="bench")
        pairs = []
        for i in range(conversations):
            contact = Contact.objects.create(name=f"Visitante {i}")
            conv = Conversation.objects.create(inbox=inbox, contact=contact)
            pairs.append({"conversation": conv.pk, "visitor_token": visitor_token(inbox=inbox, contact=contact)})
    connection.set_schema_to_public()
    host = org.get_primary_domain().domain
    return {"host": host, "key": inbox.public_key, "agent_token": token, "pairs": pairs, "org_id": org.pk}


def stored_counts() -> dict:
    from django.db import connection
    from django_tenants.utils import schema_context

    from chat.models import Message

    with schema_context("t_" + SLUG):
        total = Message.objects.count()
        dup = Message.objects.values("conversation_id", "client_id").distinct().count()
    connection.set_schema_to_public()
    return {"messages": total, "distinct_client_ids": dup}


# --- client side ----------------------------------------------------------------------


class Side:
    def __init__(self, ws, name: str, pair: int):
        self.ws = ws
        self.name = name
        self.pair = pair
        self.seen: set[str] = set()
        self.duplicates = 0
        self.errors: dict[str, int] = {}


class Run:
    """One measured step: what was sent when, and who saw it when."""

    def __init__(self):
        self.sent: dict[str, tuple[float, Side]] = {}  # client_id → (t, receiving side)
        self.latency: dict[str, float] = {}
        self.acks = 0


async def reader(side: Side, state: dict) -> None:
    loads = json.loads
    try:
        async for text in side.ws:
            now = time.perf_counter()
            frame = loads(text)
            kind = frame.get("type")
            run: Run | None = state.get("run")
            if kind in ("message.new", "echo"):
                cid = frame.get("client_id")
                if cid in side.seen:
                    side.duplicates += 1
                    continue
                side.seen.add(cid)
                if run is not None:
                    entry = run.sent.get(cid)
                    if entry is not None and entry[1] is side and cid not in run.latency:
                        run.latency[cid] = now - entry[0]
            elif kind == "message.ack":
                if run is not None:
                    run.acks += 1
            elif kind == "error":
                side.errors[frame.get("code")] = side.errors.get(frame.get("code"), 0) + 1
            elif kind in ("subscribed", "resume.done"):
                fut = state.get(("ready", side.name, side.pair))
                if fut is not None and not fut.done():
                    fut.set_result(True)
    except Exception:  # noqa: BLE001 — a closed socket ends its reader; counted as lost messages
        pass


async def connect(port: int, host: str, path: str, **kw):
    import websockets

    return await websockets.connect(
        f"ws://{host}{path}", host="127.0.0.1", port=port, max_size=2**20, ping_interval=None, open_timeout=30,
        compression=None, **kw,
    )


async def open_pairs(mode: str, port: int, world: dict, state: dict) -> list[tuple[Side, Side]]:
    pairs = []
    loop = asyncio.get_running_loop()
    for i, p in enumerate(world["pairs"]):
        if mode in ECHO_PATHS:
            v = await connect(port, world["host"], f"{ECHO_PATHS[mode]}{i}/")
            a = await connect(port, world["host"], f"{ECHO_PATHS[mode]}{i}/")
        else:
            v = await connect(port, world["host"], f"/ws/widget/{world['key']}/?token={p['visitor_token']}")
            a = await connect(port, world["host"], f"/ws/agent/?token={world['agent_token']}")
        vs, as_ = Side(v, "visitor", i), Side(a, "agent", i)
        state.setdefault("readers", []).extend(
            [asyncio.create_task(reader(vs, state)), asyncio.create_task(reader(as_, state))]
        )
        if mode == "chat":
            fut = loop.create_future()
            state[("ready", "agent", i)] = fut
            await a.send(json.dumps({"type": "subscribe", "conversation": p["conversation"]}))
            await asyncio.wait_for(fut, 30)
        pairs.append((vs, as_))
    await asyncio.sleep(0.5)  # let group subscriptions settle on Redis
    return pairs


def server_cpu(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        t = p.cpu_times()
        total += t.user + t.system
    return total


async def step(mode: str, rate: int, duration: float, pairs, world: dict, state: dict, drain: float = 3.0) -> dict:
    run = Run()
    cpu_before = server_cpu(state["server_pid"])
    state["run"] = run
    total = int(rate * duration)
    interval = 1.0 / rate
    n = len(pairs)
    body = "Olá! Esta é uma mensagem de teste de carga com algum texto. "
    late = 0
    start = time.perf_counter()
    for i in range(total):
        target = start + i * interval
        now = time.perf_counter()
        if target > now:
            await asyncio.sleep(target - now)
        elif now - target > 0.05:
            late += 1
        visitor, agent = pairs[i % n]
        sender, receiver = (visitor, agent) if (i // n) % 2 == 0 else (agent, visitor)
        cid = str(uuid.uuid4())
        conv = world["pairs"][i % n]["conversation"]
        frame = (
            {"type": "echo", "client_id": cid, "body": body}
            if mode in ECHO_PATHS
            else {"type": "message.send", "conversation": conv, "client_id": cid, "body": body}
        )
        run.sent[cid] = (time.perf_counter(), receiver)
        try:
            await sender.ws.send(json.dumps(frame))
        except Exception:  # noqa: BLE001 — counted as lost
            pass
    elapsed_send = time.perf_counter() - start
    deadline = time.perf_counter() + drain
    while len(run.latency) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    cpu = server_cpu(state["server_pid"]) - cpu_before
    lat_ms = [v * 1000 for v in run.latency.values()]
    delivered = len(lat_ms)
    last_delivery = max((run.sent[c][0] + v for c, v in run.latency.items()), default=start) - start
    state["run"] = None
    return {
        "mode": mode,
        "target_rate": rate,
        "sent": total,
        "delivered": delivered,
        "lost": total - delivered,
        "duplicates": sum(s.duplicates for pair in pairs for s in pair),
        "acks": run.acks,
        "errors": {k: v for pair in pairs for s in pair for k, v in s.errors.items()},
        "achieved_rate": round(delivered / max(last_delivery, elapsed_send), 1),
        "send_rate": round(total / elapsed_send, 1),
        "late_sends": late,
        "p50_ms": round(percentile(lat_ms, 50), 2) if lat_ms else None,
        "p99_ms": round(percentile(lat_ms, 99), 2) if lat_ms else None,
        "max_ms": round(max(lat_ms), 2) if lat_ms else None,
        "elapsed_s": round(elapsed, 2),
        "server_cpu_ms_per_msg": round(cpu * 1000 / max(total, 1), 2),
    }


async def close_pairs(pairs, state) -> None:
    for pair in pairs:
        for side in pair:
            try:
                await side.ws.close()
            except Exception:  # noqa: BLE001
                pass
    for task in state.pop("readers", []):
        task.cancel()


def server_rss(pid: int) -> int:
    import psutil

    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs if p.is_running())


async def idle_sockets(port: int, world: dict, count: int, server_pid: int) -> dict | None:
    if count <= 0:
        return None
    before = server_rss(server_pid)
    socks = []
    for i in range(count):
        p = world["pairs"][i % len(world["pairs"])]
        socks.append(await connect(port, world["host"], f"/ws/widget/{world['key']}/?token={p['visitor_token']}"))
    await asyncio.sleep(3)
    after = server_rss(server_pid)
    alive = sum(1 for s in socks if s.state.name == "OPEN")
    for s in socks:
        await s.close()
    return {
        "sockets": count,
        "alive": alive,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "kb_per_socket": round((after - before) / 1024 / count, 1),
        "mb_per_1000": round((after - before) / 2**20 / count * 1000, 2),
    }


async def client_main(args, world: dict, port: int, server_pid: int) -> dict:
    results = {mode: [] for mode in MODES}
    for mode in args.modes:
        state: dict = {"server_pid": server_pid}
        pairs = await open_pairs(mode, port, world, state)
        # warm-up (imports, connection pools, JIT-free but cache-warm)
        await step(mode, min(args.rates), 3.0, pairs, world, state, drain=1.0)
        for rate in args.rates:
            result = await step(mode, rate, args.duration, pairs, world, state)
            results[mode].append(result)
            print(
                f"  {mode:<11} {rate:>5} msg/s: achieved {result['achieved_rate']:>7} p50 {result['p50_ms']} "
                f"p99 {result['p99_ms']} ms lost {result['lost']} dup {result['duplicates']} errors {result['errors']} "
                f"server cpu {result['server_cpu_ms_per_msg']} ms/msg",
                flush=True,
            )
            collapsed = result["lost"] > result["sent"] * 0.2 or (result["p99_ms"] or 1e9) > 2000
            await asyncio.sleep(1.0)
            if collapsed:
                break
        await close_pairs(pairs, state)
        await asyncio.sleep(1.0)
    results["idle"] = await idle_sockets(port, world, args.idle, server_pid)
    return results


# --- report ---------------------------------------------------------------------------


def best_rate(rows: list[dict]) -> int | None:
    ok = [r["target_rate"] for r in rows if r["lost"] == 0 and r["p99_ms"] is not None and r["p99_ms"] <= LIMIT_P99_MS]
    return max(ok) if ok else None


def best_text(rows: list[dict], rates: list[int]) -> str:
    """The best rate, marked as a floor when it is the highest rate tried (no ceiling found)."""
    best = best_rate(rows)
    if best is None:
        return "none" if rows else "not run"
    return f">= {best} (highest tried)" if best == max(rates) else str(best)


def report(results: dict, meta: dict) -> str:
    lines = []
    out = lines.append
    out("")
    out(
        f"Websocket delivery: {meta['conversations']} conversations (visitor + agent socket each), "
        f"{meta['duration']} s per rate, {meta['workers']} uvicorn process(es), {meta['cpus']} CPUs"
    )
    head = f"{'way':<12}{'target':>8}{'achieved':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'sent':>8}{'lost':>6}{'dup':>5}  errors"
    out(head)
    out("-" * len(head))
    for mode in MODES:
        for r in results[mode]:
            out(
                f"{mode:<12}{r['target_rate']:>8}{r['achieved_rate']:>10}{r['p50_ms'] or '-':>9}{r['p99_ms'] or '-':>9}"
                f"{r['max_ms'] or '-':>9}{r['sent']:>8}{r['lost']:>6}{r['duplicates']:>5}  {r['errors'] or ''}"
            )
    rates = meta["rates"]
    chat_best = best_rate(results["chat"])
    out("")
    out(f"Highest rate with p99 <= {LIMIT_P99_MS:.0f} ms and nothing lost: chat {best_text(results['chat'], rates)}, "
        f"bare Channels echo {best_text(results['echo'], rates)}, echo on Orbit's layer {best_text(results['echo-pubsub'], rates)}")
    echo_best = best_rate(results["echo"])
    if results["chat"] and results["echo"]:
        ok = chat_best is not None and (echo_best is None or chat_best >= echo_best)
        out(f"Aim: chat at least as high as the bare Channels echo: {chat_best} vs {echo_best}  {'PASS' if ok else 'MISS'}"
            + (f" (ratio {chat_best / echo_best:.2f})" if chat_best and echo_best else ""))
    at = {r["target_rate"]: r for r in results["chat"]}.get(AIM_RATE)
    if at:
        ok = at["p99_ms"] is not None and at["p99_ms"] <= AIM_P99_MS and at["lost"] == 0 and at["duplicates"] == 0
        out(f"Aim: {AIM_RATE} msg/s over {meta['conversations']} conversations, p99 <= {AIM_P99_MS:.0f} ms, 0 lost, 0 dup: "
            f"p99 {at['p99_ms']} ms, lost {at['lost']}, dup {at['duplicates']}  {'PASS' if ok else 'MISS'}")
    idle = results["idle"]
    if idle:
        out(f"Idle sockets: {idle['alive']}/{idle['sockets']} open; server RSS {idle['rss_before_mb']} -> {idle['rss_after_mb']} MB: "
            f"{idle['mb_per_1000']} MB per 1,000 sockets ({idle['kb_per_socket']} KB each; aim <= {AIM_IDLE_KB:.0f} KB "
            f"{'PASS' if idle['kb_per_socket'] <= AIM_IDLE_KB else 'MISS'})")
    stored = results.get("stored")
    if stored:
        out(f"Database: {stored['messages']} messages stored, {stored['distinct_client_ids']} distinct client ids "
            f"({'no duplicates' if stored['messages'] == stored['distinct_client_ids'] else 'DUPLICATES'})")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--rates", default="100,200,400,600,800,1000,1200,1400,1600,2000,2500,3000")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per rate")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="uvicorn processes (default: one per core, as make run and the image run it)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="which ways to measure (echo: the bare Channels baseline; echo-pubsub: the same on Orbit's layer)")
    parser.add_argument("--idle", type=int, default=1000, help="idle sockets for the memory figure")
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--conn-max-age", type=int, default=None, help="server's CONN_MAX_AGE (default: settings)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)  # internal: run the server on this port
    args = parser.parse_args()
    args.rates = sorted(int(r) for r in args.rates.split(","))
    args.modes = [m for m in MODES if m in args.modes.split(",")]

    if args.serve is not None:
        serve(args.serve, args.workers)
        return 0

    source_url = source_database_url()
    bench_url = with_database(source_url, BENCH_DB)
    os.environ["DATABASE_URL"] = bench_url
    os.environ["ORBIT_BENCH_REDIS_DB"] = str(args.redis_db)
    if args.conn_max_age is not None:
        os.environ["ORBIT_DB_CONN_MAX_AGE"] = str(args.conn_max_age)
    print(f"creating database {BENCH_DB} (Redis db {args.redis_db}) ...", flush=True)
    database_recreate(source_url, BENCH_DB)
    server = None
    try:
        configure_django()
        world = build_world(args.conversations)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "--workers", str(args.workers)],
            cwd=ROOT, env=os.environ.copy(), start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        time.sleep(1.0 + args.workers)
        print(f"server on 127.0.0.1:{port} (pid {server.pid}), tenant host {world['host']}", flush=True)
        import uvloop

        load_before = os.getloadavg()
        results = uvloop.run(client_main(args, world, port, server.pid))
        results["stored"] = stored_counts()
        import django

        meta = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version(),
            "django": django.get_version(),
            "cpus": os.cpu_count(),
            "conversations": args.conversations,
            "duration": args.duration,
            "workers": args.workers,
            "rates": args.rates,
            "conn_max_age": os.environ.get("ORBIT_DB_CONN_MAX_AGE", "settings"),
            "loadavg_1m_before": round(load_before[0], 2),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        }
        text = report(results, meta)
        print(text)
        write_json(args.json, {"meta": meta, **results})
        print(f"\nresults written to {args.json}")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001
            pass
        redis_flush(args.redis_db)
        database_drop(source_url, BENCH_DB)
        print(f"dropped database {BENCH_DB}; flushed Redis db {args.redis_db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
