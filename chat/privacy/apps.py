from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "chat.privacy"
    label = "chat_privacy"
    default_auto_field = "django.db.models.BigAutoField"
