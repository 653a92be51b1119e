"""The case kinds and time-limit policies the platform starts with (Ningbo-like defaults).

Used by the data migration; administrators edit both in the back office afterwards.
Budgets are seconds of counted time on the policy's clock.
"""

from __future__ import annotations

from typing import Any

DAY = 86_400
HOUR = 3_600
# 08:30-12:00 and 13:30-17:30: 7.5 counted hours per working day.
OFFICE_HOURS = "08:30-12:00,13:30-17:30"
OFFICE_DAY = int(7.5 * HOUR)

POLICIES: list[dict[str, Any]] = [
    {
        "code": "consult-1wd",
        "name": "业务咨询 1个工作日",
        "clock_kind": "working_days",
        "resolution_seconds": 1 * DAY,
    },
    {
        "code": "bill-1wd",
        "name": "水费查询 1个工作日",
        "clock_kind": "working_days",
        "resolution_seconds": 1 * DAY,
    },
    # The "221" standard (R-CON-1): water on within 2 working days of the application.
    {
        "code": "connection-2wd",
        "name": "报装接水 2个工作日(221)",
        "clock_kind": "working_days",
        "resolution_seconds": 2 * DAY,
    },
    {
        "code": "complaint-3wd",
        "name": "投诉 3个工作日",
        "clock_kind": "working_days",
        "response_seconds": 4 * HOUR,
        "resolution_seconds": 3 * DAY,
    },
    {
        "code": "suggestion-5wd",
        "name": "建议 5个工作日",
        "clock_kind": "working_days",
        "resolution_seconds": 5 * DAY,
    },
    {
        "code": "general-3wd",
        "name": "一般事项 3个工作日",
        "clock_kind": "working_days",
        "resolution_seconds": 3 * DAY,
    },
    # Emergency repair runs on calendar time, 24/7.
    {
        "code": "burst-1h-24h",
        "name": "爆管抢修 1小时到场 24小时恢复",
        "clock_kind": "calendar",
        "arrival_seconds": 1 * HOUR,
        "restoration_seconds": 24 * HOUR,
        "resolution_seconds": 24 * HOUR,
    },
    {
        "code": "repair-2h-24h",
        "name": "报修 2小时到场 24小时修复",
        "clock_kind": "calendar",
        "arrival_seconds": 2 * HOUR,
        "restoration_seconds": 24 * HOUR,
        "resolution_seconds": 24 * HOUR,
    },
    {
        "code": "leak-4h-48h",
        "name": "漏水 4小时到场 48小时修复",
        "clock_kind": "calendar",
        "arrival_seconds": 4 * HOUR,
        "restoration_seconds": 48 * HOUR,
        "resolution_seconds": 48 * HOUR,
    },
    # Meter work is done by the metering office in office hours.
    {
        "code": "meter-2wd-hours",
        "name": "水表故障 2个工作日(工作时间)",
        "clock_kind": "working_hours",
        "schedule": OFFICE_HOURS,
        "resolution_seconds": 2 * OFFICE_DAY,
    },
]

# (code, name, department kind, priority, policy code,
#  sub-kinds [(code, name, department kind, priority, policy code)])
KINDS: list[tuple[str, str, str, str, str, list[tuple[str, str, str, str, str]]]] = [
    (
        "consultation",
        "业务咨询",
        "hotline",
        "normal",
        "consult-1wd",
        [
            ("consult-policy", "用水政策", "", "", ""),
            ("consult-interruption", "停水信息", "", "", ""),
            ("consult-knowledge", "水质与用水知识", "", "", ""),
            ("consult-service-points", "营业网点与办事指南", "", "", ""),
        ],
    ),
    (
        "bill",
        "水费查询",
        "billing",
        "normal",
        "bill-1wd",
        [
            ("bill-amount", "水费金额", "", "", ""),
            ("bill-payment", "缴费方式", "", "", ""),
            ("bill-invoice", "发票", "", "", ""),
            ("bill-tiered", "阶梯水价", "", "", ""),
        ],
    ),
    (
        "connection",
        "报装",
        "connections",
        "normal",
        "connection-2wd",
        [
            ("connection-residential", "居民报装", "", "", ""),
            ("connection-business", "非居民报装", "customer_service", "", ""),
            ("connection-upsize", "水表增容", "", "", ""),
        ],
    ),
    (
        "repair",
        "报修",
        "repair",
        "high",
        "repair-2h-24h",
        [
            ("repair-burst", "爆管", "", "urgent", "burst-1h-24h"),
            ("repair-leak", "漏水", "", "high", "leak-4h-48h"),
            ("repair-low-pressure", "水压低", "", "normal", ""),
            ("repair-no-water", "停水", "", "urgent", ""),
            ("repair-quality", "水质", "", "high", ""),
            ("repair-meter", "水表故障", "metering", "normal", "meter-2wd-hours"),
        ],
    ),
    (
        "complaint",
        "投诉",
        "hotline",
        "high",
        "complaint-3wd",
        [
            ("complaint-attitude", "服务态度", "", "", ""),
            ("complaint-billing", "抄表计费", "billing", "", ""),
            ("complaint-works", "施工影响", "repair", "", ""),
            ("complaint-quality", "水质", "", "", ""),
        ],
    ),
    ("suggestion", "建议", "hotline", "low", "suggestion-5wd", []),
    ("praise", "表扬", "hotline", "low", "general-3wd", []),
    ("other", "其他", "hotline", "normal", "general-3wd", []),
]


def seed(policy_model: Any, kind_model: Any) -> None:
    """Create the default policies and kinds that do not exist yet (by code)."""
    policies = {}
    for spec in POLICIES:
        defaults = {
            "name": spec["name"],
            "clock_kind": spec["clock_kind"],
            "schedule": spec.get("schedule", ""),
            "response_seconds": spec.get("response_seconds"),
            "resolution_seconds": spec["resolution_seconds"],
            "arrival_seconds": spec.get("arrival_seconds"),
            "restoration_seconds": spec.get("restoration_seconds"),
            "warn_fraction": 0.8,
        }
        policies[spec["code"]], _ = policy_model.objects.get_or_create(
            code=spec["code"], defaults=defaults
        )
    for position, (code, name, dept, priority, policy, subs) in enumerate(KINDS, start=1):
        parent, _ = kind_model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "department_kind": dept,
                "default_priority": priority,
                "policy": policies[policy],
                "position": position * 10,
            },
        )
        for sub_position, (sub_code, sub_name, sub_dept, sub_priority, sub_policy) in enumerate(
            subs, 1
        ):
            kind_model.objects.get_or_create(
                code=sub_code,
                defaults={
                    "name": sub_name,
                    "parent": parent,
                    "department_kind": sub_dept,
                    "default_priority": sub_priority,
                    "policy": policies[sub_policy] if sub_policy else None,
                    "position": position * 10 + sub_position,
                },
            )
