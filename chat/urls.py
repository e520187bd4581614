"""Chat's pages on a tenant's host (orbit.urls_tenants includes this at the root)."""

from django.urls import path

from chat.views import inbox, reports, widget

app_name = "chat"

urlpatterns = [
    path("inbox/", inbox.index, name="inbox"),
    path("inbox/c/<int:conversation_id>/", inbox.conversation, name="conversation"),
    path("inbox/c/<int:conversation_id>/older", inbox.older_messages, name="older"),
    path("inbox/c/<int:conversation_id>/row", inbox.row, name="row"),
    path("inbox/c/<int:conversation_id>/panel", inbox.panel, name="panel"),
    path("inbox/c/<int:conversation_id>/status", inbox.set_status, name="status"),
    path("inbox/c/<int:conversation_id>/assign", inbox.assign, name="assign"),
    path("inbox/c/<int:conversation_id>/labels", inbox.labels, name="labels"),
    path("widget.js", widget.loader, name="widget_loader"),
    path("widget/<str:key>/", widget.frame, name="widget_frame"),
    path("reports/", reports.index, name="reports"),
    path("reports/conversations.csv", reports.export, name="reports_export"),
]
