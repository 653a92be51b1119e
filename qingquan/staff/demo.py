"""Demo organisation for the embedded default: departments, crews, shifts, a 24-hour
roster of 26 agents, and one login per role."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction

from qingquan.core.actors import system
from qingquan.staff import services
from qingquan.staff.models import Department, Shift, Team, User
from qingquan.staff.roles import DepartmentKind, Role

DEMO_PASSWORD = "qingquan96390"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任沈姚卢傅钟姜崔谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷"
    "侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "静敏丽娜婷芳燕霞红艳玲娟萍华英慧颖洁琳雪倩璐晨欣怡佳琪悦岚伟强磊军勇杰涛斌超明刚"
    "平辉鹏华飞鑫波宁浩凯健俊帆"
)

DEPARTMENTS = [
    ("hotline", "96390清泉热线中心", DepartmentKind.HOTLINE),
    ("repair", "管网抢修中心", DepartmentKind.REPAIR),
    ("billing", "营业收费部", DepartmentKind.BILLING),
    ("metering", "水表计量部", DepartmentKind.METERING),
    ("connections", "用户报装部", DepartmentKind.CONNECTIONS),
    ("customer-managers", "客户经理部", DepartmentKind.CUSTOMER_SERVICE),
    ("it", "信息中心", DepartmentKind.IT),
]
HOTLINE_TEAMS = [("hotline-1", "话务一组"), ("hotline-2", "话务二组"), ("hotline-3", "话务三组")]
CREWS = [
    ("crew-haishu", "海曙抢修班"),
    ("crew-jiangbei", "江北抢修班"),
    ("crew-yinzhou", "鄞州抢修班"),
    ("crew-zhenhai", "镇海抢修班"),
    ("crew-beilun", "北仑抢修班"),
    ("crew-fenghua", "奉化抢修班"),
]
SHIFTS = [
    ("night", "夜班", dt.time(0, 0), dt.time(8, 0)),
    ("early", "早班", dt.time(8, 0), dt.time(16, 0)),
    ("late", "中班", dt.time(16, 0), dt.time(0, 0)),
    ("office", "日常班", dt.time(8, 30), dt.time(17, 0)),
    ("crew-day", "抢修白班", dt.time(8, 0), dt.time(20, 0)),
    ("crew-night", "抢修夜值", dt.time(20, 0), dt.time(8, 0)),
]
# Agents on each hotline shift per day (26 agents, 16 seats; two rest each day).
AGENTS_PER_SHIFT = {"early": 11, "late": 9, "night": 4}


@dataclass(frozen=True)
class DemoLogin:
    """A login printed for the newcomer."""

    username: str
    password: str
    role: Role
    full_name: str


class _Names:
    def __init__(self) -> None:
        self._rng = random.Random(96390)
        self._used: set[str] = set()

    def next(self) -> str:
        while True:
            name = self._rng.choice(SURNAMES) + "".join(
                self._rng.choice(GIVEN) for _ in range(self._rng.choice((1, 2)))
            )
            if name not in self._used:
                self._used.add(name)
                return name


@transaction.atomic
def seed_staff(*, today: dt.date) -> list[DemoLogin]:
    """Create the demo organisation and roster for a fortnight around `today`.

    Long because it is one script: departments, teams and shifts, the staff of every role
    (with the demo logins), then the roster that needs them, each a short loop over the
    tables above."""
    depts = {}
    for code, name, kind in DEPARTMENTS:
        depts[code], _ = Department.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind}
        )
    teams = {}
    for code, name in HOTLINE_TEAMS:
        teams[code], _ = Team.objects.get_or_create(
            code=code, defaults={"name": name, "department": depts["hotline"]}
        )
    for code, name in CREWS:
        teams[code], _ = Team.objects.get_or_create(
            code=code, defaults={"name": name, "department": depts["repair"], "is_crew": True}
        )
    shifts = {}
    for code, name, starts, ends in SHIFTS:
        shifts[code], _ = Shift.objects.get_or_create(
            code=code, defaults={"name": name, "starts": starts, "ends": ends}
        )

    names = _Names()
    logins: list[DemoLogin] = []
    # One Argon2 hash for every demo account (they share the password): ~60 hashes would
    # add a minute to the first start on a slow machine.
    demo_hash = make_password(DEMO_PASSWORD)
    serial = iter(range(1001, 9999))

    def make(role: Role, dept: str, team: str | None = None, login: str | None = None) -> User:
        number = next(serial)
        full_name = names.next()
        user = services.staff_create(
            actor=system("demo"),
            username=login or f"{role.value.replace('_', '')}{number}",
            full_name=full_name,
            role=role,
            password=None,
            password_hash=demo_hash,
            department=depts[dept],
            team=teams.get(team) if team else None,
            employee_no=f"QQ{number}",
            extension=str(8000 + number % 1000) if role == Role.AGENT else "",
            validate=False,
        )
        if login:
            logins.append(DemoLogin(login, DEMO_PASSWORD, role, full_name))
        return user

    agents = [
        make(Role.AGENT, "hotline", HOTLINE_TEAMS[i % 3][0], "agent" if i == 0 else None)
        for i in range(26)
    ]
    supervisors = [
        make(Role.SUPERVISOR, "hotline", None, "supervisor" if i == 0 else None) for i in range(4)
    ]
    dispatchers = [
        make(Role.DISPATCHER, "repair", None, "dispatcher" if i == 0 else None) for i in range(4)
    ]
    crew_members = [
        make(Role.CREW, "repair", CREWS[i // 3][0], "crew" if i == 0 else None)
        for i in range(len(CREWS) * 3)
    ]
    office = [
        make(Role.BACK_OFFICE, dept, None, "backoffice" if i == 0 else None)
        for i, dept in enumerate(
            ["billing", "billing", "metering", "metering", "connections", "connections"]
        )
    ]
    office += [
        make(Role.CUSTOMER_MANAGER, "customer-managers", None, "manager" if i == 0 else None)
        for i in range(3)
    ]
    admin = make(Role.ADMINISTRATOR, "it", None, "admin")

    from qingquan.core.calendar import is_working_day_or_weekday

    for offset in range(-7, 8):
        day = today + dt.timedelta(days=offset)
        # Hotline: rotate the agents through early, late and night shifts, two resting.
        order = agents[offset % 26 :] + agents[: offset % 26]
        position = 0
        for code, count in AGENTS_PER_SHIFT.items():
            for agent in order[position : position + count]:
                services.shift_assign(
                    actor=system("demo"), user=agent, shift=shifts[code], date=day
                )
            position += count
        for index, code in enumerate(["early", "late", "night"]):
            supervisor = supervisors[(index + offset) % 4]
            services.shift_assign(
                actor=system("demo"), user=supervisor, shift=shifts[code], date=day
            )
        for index, dispatcher in enumerate(dispatchers):
            code = "crew-day" if (index + offset) % 2 == 0 else "crew-night"
            services.shift_assign(
                actor=system("demo"), user=dispatcher, shift=shifts[code], date=day
            )
        for index, member in enumerate(crew_members):
            code = "crew-day" if (index // 3 + offset) % 2 == 0 else "crew-night"
            services.shift_assign(actor=system("demo"), user=member, shift=shifts[code], date=day)
        if is_working_day_or_weekday(day):
            for person in [*office, admin]:
                services.shift_assign(
                    actor=system("demo"), user=person, shift=shifts["office"], date=day
                )
    return logins
