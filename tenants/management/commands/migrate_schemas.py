"""django-tenants' migrate_schemas, which also keeps the template schema migrated and
drops pool schemas made before the latest migrations (the pool refill task replaces them)."""

from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from tenants import provisioning


class Command(MigrateSchemasCommand):
    def handle(self, *args, **options):
        super().handle(*args, **options)
        if self.sync_tenant and not options.get("schema_name"):
            provisioning.template_migrate(verbosity=int(options.get("verbosity", 1)))
            dropped = provisioning.pool_drop_stale()
            if dropped and int(options.get("verbosity", 1)):
                self.stdout.write(f"dropped {dropped} stale pool schema(s)")
