"""The Celery app. tenant-schemas-celery's app puts the sender's schema in a header of
every task and activates it in the worker, so a task runs in the tenant it came from."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

app = CeleryApp("orbit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
