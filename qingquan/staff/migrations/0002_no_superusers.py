"""Administrators are no longer Django superusers: they hold capabilities like every role
(staff.access.CAPABILITIES), so no admin page bypasses the capability model."""

from django.db import migrations


def no_superusers(apps, schema_editor):
    apps.get_model("staff", "User").objects.filter(is_superuser=True).update(is_superuser=False)


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial")]

    operations = [migrations.RunPython(no_superusers, migrations.RunPython.noop)]
