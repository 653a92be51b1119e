"""Default repair time policies (calendar time; administrators edit them in the
management screens): a burst on a large main (DN ≥ 300) arrive within 1 h and restore
within 12 h; on smaller mains 1 h / 8 h; leaks 2 h / 24 h (DN ≥ 300) and 4 h / 24 h;
service pipes 2 h / 8 h; frozen meters 4 h / 12 h; anything else 4 h / 24 h."""

from django.db import migrations

H = 3600
POLICIES = [
    ("burst", 300, "爆管 DN≥300：1小时到场 12小时恢复供水", "urgent", 1 * H, 12 * H),
    ("burst", 0, "爆管 DN<300：1小时到场 8小时恢复供水", "urgent", 1 * H, 8 * H),
    ("leak", 300, "漏水 DN≥300：2小时到场 24小时恢复", "high", 2 * H, 24 * H),
    ("leak", 0, "漏水：4小时到场 24小时恢复", "high", 4 * H, 24 * H),
    ("service_pipe", 0, "接户管：2小时到场 8小时恢复供水", "high", 2 * H, 8 * H),
    ("frozen_meter", 0, "水表冻裂：4小时到场 12小时恢复供水", "normal", 4 * H, 12 * H),
    ("other", 0, "其他抢修：4小时到场 24小时恢复", "normal", 4 * H, 24 * H),
]


def seed(apps, schema_editor):
    RepairPolicy = apps.get_model("dispatch", "RepairPolicy")
    for kind, dn, name, priority, arrive, restore in POLICIES:
        RepairPolicy.objects.get_or_create(
            kind=kind,
            min_diameter_mm=dn,
            defaults={
                "name": name,
                "priority": priority,
                "arrive_seconds": arrive,
                "restore_seconds": restore,
                "warn_fraction": 0.75,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("dispatch", "RepairPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("dispatch", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
