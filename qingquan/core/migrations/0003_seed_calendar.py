"""Seed the working-day calendar with every year the chinesecalendar package knows."""

from django.db import migrations


def seed(apps, schema_editor):
    from qingquan.core.sla import calendar_days_from_chinesecalendar

    CalendarDay = apps.get_model("core", "CalendarDay")
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    days = calendar_days_from_chinesecalendar(years=range(2004, 2101))
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(date=day, is_working_day=working, source="chinesecalendar")
            for day, working in sorted(days.items())
            if day not in existing
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
