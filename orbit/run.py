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


def _commands(port: str, host: str) -> dict[str, list[str]]:
    workers = os.environ.get("ORBIT_WEB_WORKERS", str(os.cpu_count() or 1))
    return {
        "web": [str(BIN / "uvicorn"), "orbit.asgi:application", "--host", host, "--port", port,
                "--workers", workers, "--proxy-headers", "--no-access-log", "--ws-max-size", "65536"],
        "worker": [str(BIN / "celery"), "-A", "orbit", "worker", "--loglevel", "INFO", "--concurrency", "1"],
        "beat": [str(BIN / "celery"), "-A", "orbit", "beat", "--loglevel", "INFO",
                 "--schedule", str(embedded.VAR / "celerybeat-schedule")],
    }


def main() -> int:
    embedded.up()
    port = os.environ.get("ORBIT_PORT", "8000")
    host = os.environ.get("ORBIT_BIND", "127.0.0.1")
    base = os.environ.get("ORBIT_BASE_DOMAIN", "localhost")
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
    while not stopping:
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
