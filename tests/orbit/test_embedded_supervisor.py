"""`make run` brings the embedded PostgreSQL and Redis back when they die: both are killed
with SIGKILL and the supervisor restarts them, Redis on the port the running processes
know, PostgreSQL on its socket. Real servers, in a folder of their own (ORBIT_VAR_DIR)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]

SUPERVISE = """
import time
from orbit import embedded
supervisor = embedded.Supervisor()
deadline = time.monotonic() + 90
restarted = []
while time.monotonic() < deadline and not (embedded.postgres_alive() and embedded.redis_alive()):
    restarted += supervisor.check()
    time.sleep(0.2)
print("restarted=" + ",".join(sorted(restarted)))
"""


def _run(args, env, **kwargs):
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, **kwargs)


def _env_file(var: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in (var / "services.env").read_text().splitlines() if "=" in line)


def _redis_pong(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_killed_postgres_and_redis_come_back_where_they_were(tmp_path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["ORBIT_VAR_DIR"] = str(var)
    try:
        assert _run([sys.executable, "-m", "orbit.embedded", "up"], env).returncode == 0
        urls = _env_file(var)
        port = int((var / "redis" / "port").read_text())
        assert _redis_pong(port)
        with psycopg.connect(urls["DATABASE_URL"].replace("postgres://", "postgresql://")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        os.kill(int((var / "redis" / "redis.pid").read_text()), signal.SIGKILL)
        os.kill(int((var / "pg" / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
        time.sleep(0.5)
        assert not _redis_pong(port)

        supervised = _run([sys.executable, "-c", SUPERVISE], env)
        assert supervised.returncode == 0, supervised.stderr[-2000:]
        assert "restarted=PostgreSQL,Redis" in supervised.stdout, supervised.stdout + supervised.stderr[-2000:]

        assert int((var / "redis" / "port").read_text()) == port and _redis_pong(port)
        assert _env_file(var) == urls  # the URLs the running processes hold still work
        with psycopg.connect(urls["DATABASE_URL"].replace("postgres://", "postgresql://")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        _run([sys.executable, "-m", "orbit.embedded", "down"], env)


def test_supervisor_leaves_services_given_by_url_alone(monkeypatch):
    from orbit import embedded

    monkeypatch.setenv("DATABASE_URL", "postgres://elsewhere/orbit")
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379")
    supervisor = embedded.Supervisor(log=lambda *a, **k: None)
    assert supervisor.watched == {} and supervisor.check() == []
