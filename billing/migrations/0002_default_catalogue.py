from django.db import migrations


def seed_catalogue(apps, schema_editor):
    from billing.catalogue import DEFAULT_PLANS

    Plan = apps.get_model("billing", "Plan")
    for spec in DEFAULT_PLANS:
        Plan.objects.update_or_create(code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed_catalogue, migrations.RunPython.noop)]
