"""The Celery app. tenant-schemas-celery's app puts the sender's schema in a header of
every task and activates it in the worker, so a task runs in the tenant it came from."""

import os

from celery.signals import task_postrun, task_prerun
from django.db import connection
from tenant_schemas_celery.app import CeleryApp

from orbit.lib.context import current_schema

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

app = CeleryApp("orbit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# orbit is not an installed app; its diagnostic tasks live in orbit.tasks.
app.autodiscover_tasks(["orbit"])

# Log records carry the tenant. These receivers are connected after
# tenant_schemas_celery's own (imported above), so the task's schema is already active.
_log_tokens: dict[str, object] = {}


@task_prerun.connect(dispatch_uid="orbit_log_schema_set")
def _set_log_schema(task_id=None, **kwargs):
    _log_tokens[task_id] = current_schema.set(getattr(connection, "schema_name", None))


@task_postrun.connect(dispatch_uid="orbit_log_schema_reset")
def _reset_log_schema(task_id=None, **kwargs):
    token = _log_tokens.pop(task_id, None)
    try:
        if token is not None:
            current_schema.reset(token)
    except ValueError:  # set in another context (a pool that switches threads)
        current_schema.set(None)
