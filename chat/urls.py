"""Chat's pages on a tenant's host (orbit.urls_tenants includes this at the root)."""

from django.urls import path

from chat.views import inbox, inbox_actions, reports, widget
from chat.views import settings as chat_settings

app_name = "chat"

urlpatterns = [
    path("inbox/", inbox.index, name="inbox"),
    path("inbox/c/<int:conversation_id>/", inbox.conversation, name="conversation"),
    path("inbox/c/<int:conversation_id>/older", inbox.older_messages, name="older"),
    path("inbox/c/<int:conversation_id>/row", inbox.row, name="row"),
    path("inbox/c/<int:conversation_id>/panel", inbox.panel, name="panel"),
    path("inbox/c/<int:conversation_id>/status", inbox_actions.set_status, name="status"),
    path("inbox/c/<int:conversation_id>/assign", inbox_actions.assign, name="assign"),
    path("inbox/c/<int:conversation_id>/labels", inbox_actions.labels, name="labels"),
    path("widget.js", widget.loader, name="widget_loader"),
    path("widget/<str:key>/", widget.frame, name="widget_frame"),
    path("reports/", reports.index, name="reports"),
    path("reports/conversations.csv", reports.export, name="reports_export"),
    # settings (tenant admins): inboxes + widget snippet, teams, labels, canned responses
    path("settings/chat/", chat_settings.index, name="settings"),
    path("settings/chat/inboxes/", chat_settings.inboxes, name="settings_inboxes"),
    path("settings/chat/inboxes/new", chat_settings.inbox_new, name="settings_inbox_new"),
    path("settings/chat/inboxes/<int:inbox_id>/", chat_settings.inbox_edit, name="settings_inbox"),
    path("settings/chat/inboxes/<int:inbox_id>/delete", chat_settings.inbox_delete, name="settings_inbox_delete"),
    path("settings/chat/inboxes/<int:inbox_id>/preview", chat_settings.inbox_preview, name="settings_inbox_preview"),
    path("settings/chat/teams/", chat_settings.teams, name="settings_teams"),
    path("settings/chat/teams/<int:team_id>/", chat_settings.team_edit, name="settings_team"),
    path("settings/chat/teams/<int:team_id>/delete", chat_settings.team_delete, name="settings_team_delete"),
    path("settings/chat/labels/", chat_settings.labels, name="settings_labels"),
    path("settings/chat/labels/<int:label_id>/", chat_settings.label_edit, name="settings_label"),
    path("settings/chat/labels/<int:label_id>/delete", chat_settings.label_delete, name="settings_label_delete"),
    path("settings/chat/canned/", chat_settings.canned_responses, name="settings_canned"),
    path("settings/chat/canned/<int:canned_response_id>/", chat_settings.canned_response_edit, name="settings_canned_item"),
    path(
        "settings/chat/canned/<int:canned_response_id>/delete",
        chat_settings.canned_response_delete,
        name="settings_canned_delete",
    ),
]
