from django.urls import path

from chat.api import agent, files, v1, widget

app_name = "chat_api"

urlpatterns = [
    path("api/v1/conversations", v1.conversations, name="v1_conversations"),
    path("api/widget/<str:key>/sessions", widget.sessions, name="widget_sessions"),
    path("api/widget/<str:key>/attachments", widget.attachments, name="widget_attachments"),
    path("inbox/api/conversations/<int:conversation_id>/attachments", agent.attachments, name="agent_attachments"),
    path("chat/files/<str:token>", files.attachment_file, name="attachment_file"),
]
