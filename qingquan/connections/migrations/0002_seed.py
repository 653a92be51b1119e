"""The connection policies with their steps and budgets (working days of the utility's
time; administrators edit them in the management screens), the "221" eligibility rule,
and a works-fee table with no application or handling fee (R-CON-1, R-CON-4, R-CON-6).

"221": 1 document, 2 steps, 2 working days — acceptance (half a day, the customer
manager), then survey, meter fitted and connected up to water on (a day and a half, the
connections engineer). "431" (the province's standard, for applications with
external-line works): 1 document, 3 steps, 4 working days. Real-estate supporting
projects: construction entry within 10 working days.
"""

from decimal import Decimal

from django.db import migrations

POLICIES = [
    (
        "221",
        '"221" 一件材料、两个环节、两个工作日通水',
        "2",
        1,
        [
            ("accept", "申请受理", "0.5", "manager"),
            ("connect", "查勘、表装接通、开栓通水", "1.5", "engineer"),
        ],
    ),
    (
        "431",
        '"431" 一件材料、三个环节、四个工作日通水',
        "4",
        1,
        [
            ("accept", "申请受理", "0.5", "manager"),
            ("survey", "查勘设计、外线审批施工", "2", "engineer"),
            ("connect", "表装接通、开栓通水", "1.5", "engineer"),
        ],
    ),
    (
        "real_estate",
        "房产配套给水：十个工作日内进场施工",
        "10",
        1,
        [
            ("accept", "申请受理", "1", "manager"),
            ("design", "方案设计与图纸会审", "4", "engineer"),
            ("entry", "签约并进场施工", "5", "engineer"),
        ],
    ),
]

FEES = [
    ("meter-dn20", "DN20 水表及表箱安装", "meter", "供应并安装 DN20 水表和表箱", "只", "380.00"),
    ("meter-dn50", "DN50 水表及表井安装", "meter", "供应并安装 DN50 水表和表井", "只", "2600.00"),
    ("pipe-dn25", "DN25 接户管敷设", "works", "敷设红线内接户管（含开挖回填）", "米", "95.00"),
    ("pipe-dn50", "DN50 接户管敷设", "works", "敷设红线内接户管（含开挖回填）", "米", "160.00"),
    ("tap", "带水开孔接驳", "works", "在供水管上带压开孔并接驳", "处", "850.00"),
    ("valve", "阀门及阀门井", "material", "供应并安装进户阀门和阀门井", "座", "1200.00"),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("connections", "Policy")
    PolicyStep = apps.get_model("connections", "PolicyStep")
    Rule = apps.get_model("connections", "EligibilityRule")
    FeeItem = apps.get_model("connections", "FeeItem")
    for code, name, days, documents, steps in POLICIES:
        policy, _ = Policy.objects.get_or_create(
            code=code,
            defaults={"name": name, "budget_days": Decimal(days), "documents": documents},
        )
        for order, (step, step_name, step_days, owner) in enumerate(steps, start=1):
            PolicyStep.objects.get_or_create(
                policy=policy,
                order=order,
                defaults={
                    "code": step,
                    "name": step_name,
                    "budget_days": Decimal(step_days),
                    "owner": owner,
                },
            )
    if not Rule.objects.exists():
        Rule.objects.create(
            name="无外线工程、DN50 及以下、日用水 50 立方米以内",
            max_pipe_mm=50,
            max_m3_per_day=Decimal("50"),
        )
    for code, name, kind, service, unit, price in FEES:
        FeeItem.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "service": service,
                "unit": unit,
                "unit_price": Decimal(price),
            },
        )


def unseed(apps, schema_editor):
    for model in ("FeeItem", "EligibilityRule", "PolicyStep", "Policy"):
        apps.get_model("connections", model).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("connections", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
