from billing.models import Plan


def plan_get(*, code: str) -> Plan:
    """Raises Plan.DoesNotExist for an unknown code."""
    return Plan.objects.get(code=code)


def plan_codes() -> list[str]:
    return list(Plan.objects.values_list("code", flat=True))
