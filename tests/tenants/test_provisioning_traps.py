"""Each known trap of template cloning and the warm pool, reproduced and guarded."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from tenants import provisioning
from tenants.models import PoolSchema
from tenants.provisioning import ProvisioningError, TemplateStale
from tenants.services import organization_create


def _migrated_schema(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
    call_command("migrate_schemas", schema_name=name, tenant=True, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def test_a_cloned_schema_has_the_same_catalogue_as_a_migrated_one(live_db):
    org = organization_create(name="Catalogo", plan="starter", use_pool=False)
    _migrated_schema("t_migrated_ref")
    try:
        cloned, migrated = provisioning.catalogue(org.schema_name), provisioning.catalogue("t_migrated_ref")
        for part in ("constraints", "indexes", "columns"):
            assert cloned[part] == migrated[part], part
        # the multi-column unique constraints clone_schema renames to PostgreSQL's defaults
        names = {name for _t, name, kind, _d in cloned["constraints"] if kind == "u"}
        assert "auth_permission_content_type_id_codename_01ab375a_uniq" in names
        assert "auth_permission_content_type_id_codename_key" not in names
    finally:
        provisioning.schema_drop("t_migrated_ref")


def test_remove_constraint_works_on_a_cloned_tenant(live_db):
    org = organization_create(name="Remover", plan="starter", use_pool=False)
    with transaction.atomic():
        with schema_context(org.schema_name), connection.cursor() as cursor:
            # what a later RemoveConstraint / AlterUniqueTogether migration executes
            cursor.execute(
                "ALTER TABLE auth_permission DROP CONSTRAINT auth_permission_content_type_id_codename_01ab375a_uniq"
            )
        transaction.set_rollback(True)


def test_a_stale_template_is_refused(live_db):
    template = provisioning.template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{template}".django_migrations WHERE app = %s AND name = %s RETURNING id, applied',
            ["accounts", "0001_initial"],
        )
        row_id, applied = cursor.fetchone()
    try:
        with pytest.raises(TemplateStale, match="accounts.0001_initial"):
            organization_create(name="Velho", plan="starter", use_pool=False)
        assert not schema_exists("t_velho")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{template}".django_migrations (id, app, name, applied) VALUES (%s, %s, %s, %s)',
                [row_id, "accounts", "0001_initial", applied],
            )
    organization_create(name="Novo", plan="starter", use_pool=False)


def test_a_stale_pool_schema_is_dropped_not_handed_out(live_db):
    provisioning.pool_refill(size=1)
    stale = PoolSchema.objects.get()
    PoolSchema.objects.filter(pk=stale.pk).update(migration_fingerprint="0" * 64)
    org = organization_create(name="Fresca", plan="starter")
    assert not schema_exists(stale.schema_name)
    assert PoolSchema.objects.count() == 0
    assert schema_exists(org.schema_name)


def test_migrate_schemas_migrates_the_template_and_drops_stale_pool_schemas(live_db):
    provisioning.pool_refill(size=1)
    PoolSchema.objects.update(migration_fingerprint="stale")
    call_command("migrate_schemas", interactive=False, verbosity=0)
    assert PoolSchema.objects.count() == 0
    provisioning.template_check()  # current and empty


def test_the_template_stays_empty_and_a_dirty_one_is_refused(live_db, tenant):
    assert provisioning.template_data_tables() == []
    template = provisioning.template_schema_name()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO \"{template}\".accounts_user (password, email, name, role, language, is_active, is_staff, "
            "is_superuser, date_joined) VALUES ('', 'leak@x.test', '', 'agent', '', true, false, false, now())"
        )
    try:
        assert provisioning.template_data_tables() == ["accounts_user"]
        with pytest.raises(ProvisioningError, match="must stay empty"):
            organization_create(name="Vazamento", plan="starter", use_pool=False)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DELETE FROM "{template}".accounts_user')


def test_pool_refill_fills_to_size_on_fresh_connections(live_db):
    assert provisioning.pool_refill(size=2) == 2
    assert provisioning.pool_refill(size=2) == 0
    names = list(PoolSchema.objects.values_list("schema_name", flat=True))
    assert all(schema_exists(n) and n.startswith("pool_") for n in names)
