from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self):
        # Billing moves an organization's status and plan with its subscription (payment,
        # dunning, downgrade at the end of the term); the host-routing cache holding the
        # organization is tenants', so tenants is told after each such commit.
        from billing import lifecycle
        from tenants.routing import invalidate_organization_id

        lifecycle.on_organization_changed(invalidate_organization_id)

        # Every Celery task carries when it was published: the dashboard's health panel reads
        # the age of the oldest task waiting in the queue from it (tenants.dashboard.health).
        from celery.signals import before_task_publish

        from tenants.dashboard.health import stamp_sent_at

        before_task_publish.connect(stamp_sent_at, dispatch_uid="orbit_task_sent_at", weak=False)

        # `manage.py stats --platform` (billing's command) prints the dashboard's figures.
        from billing import platform_report
        from tenants.dashboard.page import platform_stats

        platform_report.provide(platform_stats)
