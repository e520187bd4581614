from django.db import migrations


def seed_limits(apps, schema_editor):
    from billing.catalogue import DEFAULT_PLAN_LIMITS

    Plan = apps.get_model("billing", "Plan")
    for code, values in DEFAULT_PLAN_LIMITS.items():
        Plan.objects.filter(code=code).update(**values)


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_metering_limits")]
    operations = [migrations.RunPython(seed_limits, migrations.RunPython.noop)]
