"""Chat's websocket entry points (`/ws/agent/`, `/ws/widget/<key>/`): parse a frame, call one
service or selector, send the answer. The realtime helpers services use live in chat.realtime."""

from chat.consumers.agent import AgentConsumer
from chat.consumers.widget import WidgetConsumer

__all__ = ["AgentConsumer", "WidgetConsumer"]
