"""Benchmark: a noisy neighbour. Tenant A hammers the API at 10× its rate limit while
tenant B works normally; B's latency with and without A.

    .venv/bin/python bench/noisy_neighbour.py [--seconds 10] [--pairs 6] [--b-rate 25] [--workers 2] [--json bench/results/noisy_neighbour.json]

A real uvicorn server (--workers processes, default 2 = one per core as in production,
`orbit.asgi:application`, on a free loopback port,
never 8000) runs in a subprocess against a dedicated database `orbit_bench_noisy_<pid>` (created
and dropped here; two real organizations with schemas, verified domains, a website inbox,
30 conversations and an API token each) and its own Redis logical database (--redis-db,
flushed of the keys it wrote). The request both tenants send is GET /api/v1/conversations.

A is on a plan of --limit requests a minute (burst limit/6 per 10 s), B on one of --b-limit;
B sends --b-rate requests/s (within its limit), A sends 10 × its per-second limit. Phases alternate
quiet / A at its limit / noisy, in turn (--pairs rounds) so drift hits all alike; the defaults give B 250 requests a phase
(1,500 per mode) so the p99 is not just the slowest sample. A's load runs in its own process
(forked once before the first phase and idle in quiet phases), so B's latencies are not measured on an event loop that is also busy sending A's
requests. Status counts per phase are printed (B must see no 429; A's must be mostly 429 — a
404 from an unknown host would mean the bench measures nothing). Server, load generators,
PostgreSQL and Redis still share the machine's cores: the load average is printed, compare
runs made at similar load. Reported: B's p50/p95/p99 in each
mode, B's refusals (must be 0), A's 429 share, and the aim: B's noisy p99 within 10 % of quiet.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    RESULTS,
    bench_database_name,
    database_drop,
    database_recreate,
    percentile,
    source_database_url,
    with_database,
)

BENCH_DB = bench_database_name("orbit_bench_noisy")
DEFAULT_JSON = RESULTS / "noisy_neighbour.json"
AIM_P99_RATIO = 1.10


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != 8000:
            return port


SETTINGS = '''
from orbit.settings import *  # noqa
_r = f"{{REDIS_URL}}/{redis_db}"
for _alias in CACHES:
    CACHES[_alias]["LOCATION"] = _r
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = _r
LOGGING["root"]["level"] = "ERROR"
'''


@dataclass(frozen=True)
class Target:
    """One tenant's request: GET `path` on `host` with its API token."""

    host: str
    path: str
    token: str


def prepare(bench_url: str, redis_db: int, settings_dir: Path, limit: int, b_limit: int) -> dict[str, Target]:
    (settings_dir / "noisy_settings.py").write_text(SETTINGS.format(redis_db=redis_db))
    sys.path.insert(0, str(settings_dir))
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "noisy_settings"
    import django

    django.setup()
    from django.core.cache import caches
    from django.core.management import call_command

    from billing.models import Plan

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    caches["shared"].clear()
    plans = {
        "noisy-a": Plan.objects.create(code="bench-a", name="Bench A", api_requests_per_minute=limit,
                                       api_burst=max(1, limit // 6), features=["api"]),
        "quiet-b": Plan.objects.create(code="bench-b", name="Bench B", api_requests_per_minute=b_limit,
                                       api_burst=max(1, b_limit // 6), features=["api"]),
    }
    # Real tenants (schema cloned from the template, verified primary domain), each with an
    # agent, an API token and 30 open conversations: the request both send is a page of the
    # conversation list from the REST API (token lookup, plan feature, a query in the tenant's
    # schema), rate limited by their plans and metered.
    from django_tenants.utils import tenant_context

    from accounts.models import ApiToken, User
    from chat.models import Contact, Conversation, Inbox
    from tenants import provisioning
    from tenants.services import organization_create

    provisioning.template_migrate()
    targets = {}
    for slug, plan in plans.items():
        org = organization_create(name=slug, plan=plan, slug=slug, status="active", use_pool=False)
        with tenant_context(org):
            inbox = Inbox.objects.create(name=f"Site {slug}")
            for n in range(30):
                Conversation.objects.create(inbox=inbox, contact=Contact.objects.create(name=f"Visitante {n}"))
            agent = User.objects.create_user(email=f"bot@{slug}.example.com", password=None, role="admin")
            token = ApiToken.objects.issue(user=agent, name="bench")[1]
        targets[slug] = Target(host=org.domains.get(is_primary=True).domain, path="/api/v1/conversations?limit=20",
                               token=token)
    from django.db import connections

    connections.close_all()
    return targets


# --- a tiny keep-alive HTTP/1.1 client --------------------------------------------------


class Conn:
    def __init__(self, port: int, target: Target):
        self.port, self.target = port, target
        self.raw = (
            f"GET {target.path} HTTP/1.1\r\nHost: {target.host}\r\nAccept: application/json\r\n"
            f"Authorization: Bearer {target.token}\r\n\r\n"
        ).encode()
        self.reader = self.writer = None

    async def request(self, retry: bool = True) -> int:
        try:
            return await self._request()
        except (ConnectionError, IndexError, asyncio.IncompleteReadError):
            if self.writer is not None:
                self.writer.close()
            self.writer = None
            if not retry:
                raise
            return await self.request(retry=False)

    async def _request(self) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(self.raw)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status


async def paced(conns: list[Conn], rate: float, seconds: float, record: list | None, statuses: list) -> None:
    """Send `rate` requests/s for `seconds`, round-robin over connections, each request
    at its scheduled time (open loop, latencies measured per request)."""
    interval = 1.0 / rate
    start = time.perf_counter()
    tasks = []
    busy = [asyncio.Lock() for _ in conns]

    async def one(i: int) -> None:
        async with busy[i % len(conns)]:
            t0 = time.perf_counter()
            status = await conns[i % len(conns)].request()
            if record is not None:
                record.append(time.perf_counter() - t0)
            statuses.append(status)

    i = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = start + i * interval
        if due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())
        tasks.append(asyncio.create_task(one(i)))
        i += 1
        del elapsed
    await asyncio.gather(*tasks)


class Hammer:
    """A's load generator: one process for the whole run (forked before any phase, so no
    process start-up lands inside a measured window), idle in quiet phases, sending A's
    requests for a phase's length when told to."""

    def __init__(self, port: int, target: Target, a_rate: float):
        ctx = multiprocessing.get_context("fork")
        self.control, self.out = ctx.Queue(), ctx.Queue()
        self.process = ctx.Process(target=_hammer_process, args=(port, target, a_rate, self.control, self.out), daemon=True)
        self.process.start()

    def start(self, seconds: float, rate: float) -> None:
        self.control.put((seconds, rate))

    def statuses(self, timeout: float) -> list[int]:
        return self.out.get(timeout=timeout)

    def stop(self) -> None:
        self.control.put(None)
        self.process.join(timeout=10)


def _hammer_process(port: int, target: Target, a_rate: float, control, out) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        conns = [Conn(port, target) for _ in range(16)]
        while (command := await loop.run_in_executor(None, control.get)) is not None:
            seconds, rate = command
            statuses: list[int] = []
            await paced(conns, rate, seconds, None, statuses)
            out.put(statuses)
        for c in conns:
            if c.writer:
                c.writer.close()

    asyncio.run(main())


def phase(port: int, targets: dict, hammer: Hammer | None, seconds: float, b_rate: float, a_rate: float = 0.0) -> dict:
    """B measured on this process's event loop; A (when a hammer is given) from its own process."""
    a_status: list[int] = []
    if hammer is not None:
        hammer.start(seconds + 0.5, a_rate)
        time.sleep(0.25)  # A's connections are open and busy before B's window opens
    b = asyncio.run(_measure(port, targets["quiet-b"], seconds, b_rate))
    if hammer is not None:
        a_status = hammer.statuses(timeout=seconds + 60)
    return {**b, "a_requests": len(a_status), "a_429": a_status.count(429),
            "a_statuses": {str(k): a_status.count(k) for k in sorted(set(a_status))}}


async def _measure(port: int, target: Target, seconds: float, b_rate: float) -> dict:
    b_lat: list[float] = []
    b_status: list[int] = []
    b_conns = [Conn(port, target) for _ in range(8)]
    await paced(b_conns, b_rate, seconds, b_lat, b_status)
    for c in b_conns:
        if c.writer:
            c.writer.close()
    return {"b_latencies": b_lat, "b_429": b_status.count(429), "b_requests": len(b_status),
            "b_statuses": {str(k): b_status.count(k) for k in sorted(set(b_status))}}


def start_server(port: int, settings_dir: Path, bench_url: str, workers: int) -> subprocess.Popen:
    from orbit.run import uvicorn_flags

    env = {**os.environ, "DATABASE_URL": bench_url, "DJANGO_SETTINGS_MODULE": "noisy_settings",
           "PYTHONPATH": f"{settings_dir}{os.pathsep}{ROOT}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "orbit.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--timeout-keep-alive", "120", "--log-level", "warning", "--no-access-log", "--lifespan", "off",
         *uvicorn_flags()],  # the same options as make run and the Docker image
        cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the uvicorn server did not start")


def summary(values: list[float]) -> dict:
    ms = [v * 1000 for v in values]
    return {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2),
            "p99": round(percentile(ms, 99), 2), "n": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase (3 × --pairs phases)")
    parser.add_argument("--limit", type=int, default=120, help="A's plan: requests per minute")
    parser.add_argument("--b-limit", type=int, default=6000, help="B's plan: requests per minute")
    parser.add_argument("--b-rate", type=float, default=25.0, help="B's requests/s (within its limit)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (production: one per core)")
    parser.add_argument("--pairs", type=int, default=6, help="rounds of quiet / at-limit / noisy phases")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    a_rate = 10 * args.limit / 60  # 10 × A's per-second limit

    url = source_database_url()
    bench_url = with_database(url, BENCH_DB)
    load_before = os.getloadavg()
    database_recreate(url, BENCH_DB)
    server = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings_dir = Path(tmp)
            targets = prepare(bench_url, args.redis_db, settings_dir, args.limit, args.b_limit)
            port = free_port()
            server = start_server(port, settings_dir, bench_url, args.workers)
            print(f"uvicorn ({args.workers} workers) on 127.0.0.1:{port}; A {a_rate:.0f} req/s (10 × {args.limit}/min), B {args.b_rate} req/s",
                  flush=True)
            hammer = Hammer(port, targets["noisy-a"], a_rate)
            # warm-up, both tenants on both workers: connections, per-process caches, first requests
            phase(port, targets, hammer, 3, args.b_rate, a_rate)
            from django.core.cache import caches

            # quiet: B alone; at-limit: A sending exactly its plan's rate (its fair share);
            # noisy: A at 10× (the aim's comparison is noisy against quiet; noisy against
            # at-limit is what A's refused excess costs B, which is what rate limits control).
            a_rates = {"quiet": None, "at-limit": args.limit / 60, "noisy": a_rate}
            results = {mode: [] for mode in a_rates}
            raw = {mode: [] for mode in a_rates}
            # Rate-limit windows run on across phases, as in real life: clearing them per phase
            # would give A a fresh allowance (burst) every noisy phase, several times its limit.
            caches["shared"].clear()
            for mode in tuple(a_rates) * args.pairs:
                phase(port, targets, None, 0.5, 4)
                out = phase(port, targets, hammer if a_rates[mode] else None, args.seconds, args.b_rate, a_rates[mode] or 0.0)
                raw[mode].append(out)
                results[mode] += out["b_latencies"]
                print(f"  {mode}: B {summary(out['b_latencies'])}, B 429s {out['b_429']} {out['b_statuses']}, "
                      f"A {out['a_requests']} requests, {out['a_429']} refused {out['a_statuses']}", flush=True)
            caches["shared"].clear()
            hammer.stop()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        database_drop(url, BENCH_DB)

    quiet, at_limit, noisy = summary(results["quiet"]), summary(results["at-limit"]), summary(results["noisy"])
    excess_ratio = noisy["p99"] / at_limit["p99"] if at_limit["p99"] else None
    a_total = sum(r["a_requests"] for r in raw["noisy"])
    a_refused = sum(r["a_429"] for r in raw["noisy"])
    b_refused = sum(r["b_429"] for mode in raw for r in raw[mode])
    ratio = noisy["p99"] / quiet["p99"] if quiet["p99"] else None
    # each noisy phase against the quiet phase just before it: robust to a burst of outside load
    pair_ratios = sorted(summary(n["b_latencies"])["p99"] / max(summary(q["b_latencies"])["p99"], 1e-9)
                         for q, n in zip(raw["quiet"], raw["noisy"], strict=True))
    pair_median = pair_ratios[len(pair_ratios) // 2] if len(pair_ratios) % 2 else \
        sum(pair_ratios[len(pair_ratios) // 2 - 1:len(pair_ratios) // 2 + 1]) / 2
    lines = [
        "",
        f"Noisy neighbour: A at {a_rate:.0f} req/s (10 × its {args.limit}/min), B at {args.b_rate} req/s; "
        f"{args.seconds:.0f} s × {args.pairs} phases per mode (quiet / A at its limit / A at 10x, in turn); uvicorn --workers {args.workers}; A's load from its own process",
        f"{'B latency (ms)':<26}{'p50':>8}{'p95':>8}{'p99':>8}{'n':>7}",
        f"{'quiet (B alone)':<26}{quiet['p50']:>8}{quiet['p95']:>8}{quiet['p99']:>8}{quiet['n']:>7}",
        f"{'A at its limit':<26}{at_limit['p50']:>8}{at_limit['p95']:>8}{at_limit['p99']:>8}{at_limit['n']:>7}",
        f"{'noisy (A at 10x)':<26}{noisy['p50']:>8}{noisy['p95']:>8}{noisy['p99']:>8}{noisy['n']:>7}",
        f"B refused: {b_refused}; A refused: {a_refused}/{a_total} ({a_refused * 100 / max(a_total, 1):.1f} %)",
        f"B p99 noisy/quiet: {ratio:.2f} — aim ≤ {AIM_P99_RATIO:.2f}: {'PASS' if ratio and ratio <= AIM_P99_RATIO else 'MISS'}",
        f"per pair p99 noisy/quiet: {', '.join(f'{r:.2f}' for r in pair_ratios)}; median {pair_median:.2f}",
        f"B p99 noisy/at-limit: {excess_ratio:.2f} (what A's refused excess costs B; p50 {noisy['p50'] / max(at_limit['p50'], 1e-9):.2f})",
        f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; {os.cpu_count()} cpus",
    ]
    print("\n".join(lines))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "b_quiet_ms": quiet, "b_at_limit_ms": at_limit, "b_noisy_ms": noisy,
        "b_p99_excess_ratio": round(excess_ratio, 3) if excess_ratio else None, "b_p99_ratio": round(ratio, 3) if ratio else None, "b_p99_pair_ratios": [round(r, 3) for r in pair_ratios],
        "b_refused": b_refused, "a_requests": a_total, "a_refused": a_refused,
        "phases": {m: [{k: v for k, v in r.items() if k != "b_latencies"} for r in raw[m]] for m in raw},
        "meta": {"python": platform.python_version(), "cpus": os.cpu_count(), "a_limit_per_minute": args.limit, "b_limit_per_minute": args.b_limit,
                 "a_rate": a_rate, "b_rate": args.b_rate, "seconds": args.seconds, "workers": args.workers, "pairs": args.pairs,
                 "load_before": load_before, "load_after": os.getloadavg()},
    }, indent=2))
    print(f"JSON: {args.json}")


if __name__ == "__main__":
    main()
