"""Seed the standard IVR flow (version 1) and its Mandarin prompts."""

from django.db import migrations
from django.utils import timezone


def seed(apps, schema_editor):
    from qingquan.telephony.flows import STANDARD_PROMPTS, standard_graph

    IvrFlow = apps.get_model("telephony", "IvrFlow")
    IvrFlowVersion = apps.get_model("telephony", "IvrFlowVersion")
    Prompt = apps.get_model("telephony", "Prompt")
    now = timezone.now()
    flow, created = IvrFlow.objects.get_or_create(
        slug="standard", defaults={"name": "标准流程", "created_at": now}
    )
    if not flow.versions.exists():
        IvrFlowVersion.objects.create(
            flow=flow, number=1, graph=standard_graph(), note="标准流程", created_at=now
        )
    for key, text in STANDARD_PROMPTS.items():
        Prompt.objects.get_or_create(key=key, defaults={"text": text, "updated_at": now})


def unseed(apps, schema_editor):
    apps.get_model("telephony", "IvrFlow").objects.filter(slug="standard").delete()


class Migration(migrations.Migration):
    dependencies = [("telephony", "0002_ivr")]
    operations = [migrations.RunPython(seed, unseed)]
