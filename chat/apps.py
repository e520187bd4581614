from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        from orbit.lib.storage import register_stored_name_column

        # Attachment.file is a full stored name (tenants/<schema>/uploads/…): a restore into
        # another schema moves it with the files (tenants.data.restore).
        register_stored_name_column("chat_attachment", "file")
