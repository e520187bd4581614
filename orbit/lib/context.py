"""The tenant a piece of work runs for, for log records and diagnostics.

Set by the HTTP middleware, the websocket tenant middleware and Celery's task hooks;
contextvars follow the work into asyncio tasks and asgiref's worker threads."""

from contextvars import ContextVar

current_schema: ContextVar[str | None] = ContextVar("orbit_current_schema", default=None)
