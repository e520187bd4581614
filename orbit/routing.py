"""The ASGI application: http → rate-limit edge (orbit.edge) → Django; websocket → origin check → tenant → auth → routes."""

from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

from chat.consumers import AgentConsumer, WidgetConsumer
from orbit.consumers import PingConsumer
from orbit.edge import RateLimitEdge
from tenants.websocket import OriginCheckMiddleware, TenantAuthMiddleware, TenantMiddleware

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/widget/<str:key>/", WidgetConsumer.as_asgi()),
]


def build_application(django_asgi_app):
    return ProtocolTypeRouter(
        {
            "http": RateLimitEdge(django_asgi_app),
            "websocket": OriginCheckMiddleware(TenantMiddleware(TenantAuthMiddleware(URLRouter(websocket_urlpatterns)))),
        }
    )
