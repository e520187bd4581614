import gc
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

# A web process runs its event loop and the threads of sync views and database calls
# under one GIL. A request hands the GIL between them several times; with CPython's
# default 5 ms switch interval every handoff can wait for another thread's whole slice,
# so one tenant's traffic lengthens another's tail latency (bench/noisy_neighbour.py).
sys.setswitchinterval(float(os.environ.get("ORBIT_GIL_SWITCH_INTERVAL", "0.001")))

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from orbit.routing import build_application  # noqa: E402

application = build_application(django_asgi_app)

# Everything loaded so far (Django, the apps, the URL conf) lives as long as the process:
# keep it out of the collector's generations so a full collection does not walk it
# again and again in the middle of requests.
if os.environ.get("ORBIT_GC_FREEZE", "1") == "1":
    gc.freeze()
