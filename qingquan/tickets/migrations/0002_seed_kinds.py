"""Seed the default case kinds and time-limit policies (editable in the back office)."""

from django.db import migrations


def seed(apps, schema_editor):
    from qingquan.tickets.kinds_seed import seed as seed_kinds

    seed_kinds(apps.get_model("tickets", "SlaPolicy"), apps.get_model("tickets", "CaseKind"))


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
