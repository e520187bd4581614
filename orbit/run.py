"""`make run`: uvicorn + Celery worker + beat in the foreground; Ctrl-C stops them all
and the embedded PostgreSQL and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orbit import embedded

BIN = Path(sys.executable).parent

# Every web process's uvicorn options (make run, docker/Dockerfile, bench/ws_delivery.py).
# Measured with bench/ws_delivery.py: uvloop + httptools; the sans-I/O websockets protocol
# (no tasks per connection: 39 KB per idle socket against 43 KB with the legacy one, which
# uvicorn also deprecates); no per-message-deflate (frames are a few hundred bytes, and a
# negotiated zlib context pair costs tens of KB per socket plus CPU per frame; browsers
# always negotiate it); 64 KB frames at most (chat's largest frame is 32,000 characters).
UVICORN_OPTIONS = {
    "loop": "uvloop",
    "http": "httptools",
    "ws": "websockets-sansio",
    "ws_max_size": 65536,
    "ws_per_message_deflate": False,
}


def uvicorn_flags() -> list[str]:
    """UVICORN_OPTIONS as command-line flags."""
    flags = []
    for name, value in UVICORN_OPTIONS.items():
        flags += [f"--{name.replace('_', '-')}", str(value).lower() if isinstance(value, bool) else str(value)]
    return flags


def proxy_flags(trusted_proxies: str | None = None) -> list[str]:
    """Whom uvicorn believes about the client (X-Forwarded-For) and the scheme
    (X-Forwarded-Proto): the proxies in ORBIT_TRUSTED_PROXIES (comma-separated IPs or
    CIDRs: the one that connects to Orbit and any in front of it), else nobody.

    uvicorn trusts 127.0.0.1 by default, so without this any local client — or a proxy
    on the same host that passes the header on — could pick its own address and walk
    past every per-IP limit."""
    if trusted_proxies is None:
        trusted_proxies = os.environ.get("ORBIT_TRUSTED_PROXIES", "")
    proxies = ",".join(p.strip() for p in trusted_proxies.split(",") if p.strip())
    return ["--proxy-headers", "--forwarded-allow-ips", proxies] if proxies else ["--no-proxy-headers"]


def _commands(port: str, host: str) -> dict[str, list[str]]:
    workers = os.environ.get("ORBIT_WEB_WORKERS", str(os.cpu_count() or 1))
    return {
        "web": [str(BIN / "uvicorn"), "orbit.asgi:application", "--host", host, "--port", port,
                "--workers", workers, *proxy_flags(), "--no-access-log", *uvicorn_flags()],
        "worker": [str(BIN / "celery"), "-A", "orbit", "worker", "--loglevel", "INFO", "--concurrency", "1"],
        "beat": [str(BIN / "celery"), "-A", "orbit", "beat", "--loglevel", "INFO",
                 "--schedule", str(embedded.VAR / "celerybeat-schedule")],
    }


def main() -> int:
    embedded.up()
    port = os.environ.get("ORBIT_PORT", "8000")
    host = os.environ.get("ORBIT_BIND", "127.0.0.1")
    base = os.environ.get("ORBIT_BASE_DOMAIN", "localhost")
    os.environ.setdefault("ORBIT_PUBLIC_PORT", port)  # links in e-mails: http://<tenant>.localhost:8000/…
    procs = {name: subprocess.Popen(cmd) for name, cmd in _commands(port, host).items()}
    print(
        f"\nOrbit is running.\n"
        f"  Operator admin:  http://{base}:{port}/admin/   (admin@orbit.localhost / orbit-demo-2026)\n"
        f"  Direct customer: http://acme.{base}:{port}/     (owner@acme.example.com / orbit-demo-2026)\n"
        f"  Partner:         http://parceiro.{base}:{port}/ (owner@parceiro.example.com / orbit-demo-2026)\n"
        f"  Partner clients: http://cliente-um.{base}:{port}/, http://cliente-dois.{base}:{port}/\n"
        f"  Widget test:     http://acme.{base}:{port}/settings/chat/inboxes/ → Site da Acme → Testar widget\n"
        f"  Health:          http://{base}:{port}/readyz\n"
        f"Ctrl-C stops everything.\n",
        flush=True,
    )
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    supervisor = embedded.Supervisor(log=lambda *a, **k: print(*a, file=sys.stderr, **k))
    next_look = 0.0
    while not stopping:
        if time.monotonic() >= next_look:  # losing Redis or PostgreSQL degrades Orbit; bring them back
            supervisor.check()
            next_look = time.monotonic() + 2
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with {proc.returncode}; stopping the rest", file=sys.stderr, flush=True)
                stopping, exit_code = True, 1
        time.sleep(0.5)
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    embedded.down()
    print("Orbit stopped.", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
