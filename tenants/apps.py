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
