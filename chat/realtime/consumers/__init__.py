from chat.realtime.consumers.agent import AgentConsumer
from chat.realtime.consumers.widget import WidgetConsumer

__all__ = ["AgentConsumer", "WidgetConsumer"]
