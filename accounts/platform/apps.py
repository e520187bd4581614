from django.apps import AppConfig


class AccountsPlatformConfig(AppConfig):
    """accounts' public-schema-only tables (SHARED_APPS only): security policies read on
    every tenant's login without touching another schema."""

    name = "accounts.platform"
    label = "accounts_platform"
    verbose_name = "Accounts (platform)"
    default_auto_field = "django.db.models.BigAutoField"
