"""Default callback policies: every case within 2 working days, three tries when
unreachable; bill enquiries sampled at 10 %; complaints escalated when dissatisfied."""

from typing import Any

from django.db import migrations


def seed(apps: Any, schema_editor: Any) -> None:
    policy = apps.get_model("surveys", "CallbackPolicy")
    kind = apps.get_model("tickets", "CaseKind")
    if not policy.objects.filter(kind__isnull=True).exists():
        policy.objects.create(kind=None, mode="always")
    rules = {
        "bill": {"mode": "sample", "sample_percent": 10},
        "complaint": {"mode": "always", "on_dissatisfied": "escalate", "due_working_days": 1},
        "praise": {"mode": "never"},
    }
    for code, values in rules.items():
        row = kind.objects.filter(code=code).first()
        if row is not None and not policy.objects.filter(kind=row).exists():
            policy.objects.create(kind=row, **values)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial"), ("tickets", "0002_seed_kinds")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
