"""Diagnostic tasks: where a task runs, as the worker sees it (tests and smoke checks)."""

from celery import shared_task
from django.db import connection

from orbit.lib.context import current_schema


@shared_task(name="orbit.tasks.current_schema_name")
def current_schema_name() -> str:
    """The schema the worker's connection is in while the task runs."""
    return connection.schema_name


@shared_task(name="orbit.tasks.log_schema_name")
def log_schema_name() -> str | None:
    """The schema the task's log records carry (orbit.lib.context.current_schema)."""
    return current_schema.get()
