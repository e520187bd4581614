import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orbit.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from orbit.routing import build_application  # noqa: E402

application = build_application(django_asgi_app)
