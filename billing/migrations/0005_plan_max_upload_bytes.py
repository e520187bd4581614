from django.db import migrations, models


def seed(apps, schema_editor):
    from billing.catalogue import DEFAULT_MAX_UPLOAD_BYTES

    Plan = apps.get_model("billing", "Plan")
    for code, size in DEFAULT_MAX_UPLOAD_BYTES.items():
        Plan.objects.filter(code=code).update(max_upload_bytes=size)


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_plan_limits_seed")]
    operations = [
        migrations.AddField(
            model_name="plan",
            name="max_upload_bytes",
            field=models.PositiveBigIntegerField(
                blank=True, null=True, verbose_name="tamanho máximo de um arquivo (bytes)",
                help_text="vazio = o teto da plataforma (ORBIT_CHAT_MAX_UPLOAD_BYTES)",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
