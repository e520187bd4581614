"""What every bench shares: the repo root, a dedicated database on the server of
DATABASE_URL (created before, dropped after), Django pointed at it and at its own Redis
logical database, cleaning that Redis database, percentiles and the results file.

Scripts put the repo root on sys.path, then `from bench._common import ...`."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --- figures --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (q in 0..100)."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def write_json(path: Path, data: dict) -> None:
    """The results file (its folder made if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


# --- database -------------------------------------------------------------------------


def read_env(name: str) -> str | None:
    """A setting from the environment, else from var/services.env (as the settings do)."""
    from orbit.embedded import read_env_file

    return os.environ.get(name) or read_env_file().get(name)


def source_database_url() -> str:
    url = read_env("DATABASE_URL")
    if not url:
        sys.exit("No DATABASE_URL (nor var/services.env): start the services with `python -m orbit.embedded up`.")
    return url


def bench_database_name(base: str) -> str:
    """A database name of this run's own, so two people running the same bench don't drop each other's."""
    return f"{base}_{os.getpid()}"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_connection(url: str):
    """Autocommit connection to the server's `postgres` database (to create/drop databases)."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    params = {
        "dbname": "postgres",
        "user": cfg.get("USER"),
        "password": cfg.get("PASSWORD"),
        "host": cfg.get("HOST"),
        "port": cfg.get("PORT"),
        **cfg.get("OPTIONS", {}),
    }
    return psycopg.connect(**{k: v for k, v in params.items() if v not in (None, "")}, autocommit=True)


def database_recreate(url: str, name: str) -> None:
    with admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str, name: str) -> None:
    with admin_connection(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Django and Redis -----------------------------------------------------------------


def settings_use_redis_db(redis_db: int) -> str:
    """Load the settings (not yet the apps) and move every Redis use (caches, Celery) to the
    bench's own logical database, so dev's cache and queue are never touched; its URL."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "orbit.settings"
    from django.conf import settings

    redis = f"{settings.REDIS_URL}/{redis_db}"
    for alias in settings.CACHES:
        settings.CACHES[alias]["LOCATION"] = redis
    settings.CELERY_BROKER_URL = redis
    settings.CELERY_RESULT_BACKEND = redis
    return redis


def django_setup(bench_url: str, redis_db: int, *, celery: bool = False) -> None:
    """Point the settings at the bench database and Redis database, then set Django up;
    with celery, the Celery app too (no broker retries)."""
    os.environ["DATABASE_URL"] = bench_url
    redis = settings_use_redis_db(redis_db)
    import django

    django.setup()
    if celery:
        from orbit.celery import app

        app.conf.broker_url = redis
        app.conf.result_backend = redis
        app.conf.broker_connection_retry_on_startup = False
        app.conf.broker_connection_max_retries = 0


def redis_cleanup(redis_db: int, hosts: list[str]) -> int:
    """Delete what the bench left in its Redis database: routing entries and Celery's queue."""
    import redis as redis_lib
    from django.conf import settings
    from django.core.cache import caches

    caches["shared"].delete_many([f"routing:host:{h}" for h in hosts])
    client = redis_lib.Redis.from_url(f"{settings.REDIS_URL}/{redis_db}")
    keys = [k for pattern in ("celery", "_kombu.binding*", "celery-task-meta-*") for k in client.scan_iter(pattern)]
    if keys:
        client.delete(*keys)
    return len(keys)


def redis_flush(redis_db: int) -> None:
    """Empty the bench's Redis logical database (no Django needed)."""
    import redis as redis_lib

    redis_lib.Redis.from_url(f"{read_env('REDIS_URL')}/{redis_db}").flushdb()


@contextmanager
def own_database(name: str, *, redis_db: int, before_setup=None):
    """A bench's own database `name` on DATABASE_URL's server, recreated, with Django pointed
    at it (and at `redis_db`), the public schema migrated and the shared cache empty; dropped
    afterwards, whatever happens. `before_setup(bench_url)` runs before Django is set up (a
    bench's own settings). Yields the database's URL."""
    url = source_database_url()
    bench_url = with_database(url, name)
    database_recreate(url, name)
    try:
        if before_setup is not None:
            before_setup(bench_url)
        django_setup(bench_url, redis_db)
        from django.core.cache import caches
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        caches["shared"].clear()
        yield bench_url
        caches["shared"].clear()
        connections.close_all()
    finally:
        database_drop(url, name)
