"""Plans sell only what exists (no `video`), carry overage prices, and every organization
gets its subscription (trialing for trial organizations, else active; the current month
as its first term)."""

import datetime as dt

from django.db import migrations
from django.utils import timezone


def seed(apps, schema_editor):
    from billing.catalogue import DEFAULT_OVERAGE_PRICES

    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        plan.features = [f for f in plan.features if f != "video"]
        plan.save(update_fields=["features"])
    for code, values in DEFAULT_OVERAGE_PRICES.items():
        Plan.objects.filter(code=code).update(**values)

    Organization = apps.get_model("tenants", "Organization")
    Subscription = apps.get_model("billing", "Subscription")
    now = timezone.now()
    local = timezone.localtime(now).date().replace(day=1)
    following = dt.date(local.year + (local.month == 12), local.month % 12 + 1, 1)
    status_map = {"trial": "trialing", "active": "active", "past_due": "past_due", "suspended": "suspended",
                  "cancelled": "cancelled"}
    for org in Organization.objects.exclude(pk__in=Subscription.objects.values("organization_id")).select_related("plan"):
        Subscription.objects.create(
            organization=org, plan=org.plan, cycle="monthly", status=status_map.get(org.status, "active"),
            trial_ends_at=now + dt.timedelta(days=14) if org.status == "trial" else None,
            current_period_start=local, current_period_end=following,
            cancelled_at=now if org.status == "cancelled" else None,
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_invoicing")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
