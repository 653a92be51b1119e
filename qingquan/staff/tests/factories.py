"""Test factories for staff. Accounts are made through the service, as in production."""

from __future__ import annotations

import itertools
from typing import Any

from qingquan.core.actors import SYSTEM
from qingquan.staff import services
from qingquan.staff.models import Department, Team, User
from qingquan.staff.roles import DepartmentKind, Role

PASSWORD = "correct-horse-96390"
_serial = itertools.count(1)


def department(code: str = "hotline", kind: DepartmentKind = DepartmentKind.HOTLINE) -> Department:
    dept, _ = Department.objects.get_or_create(code=code, defaults={"name": code, "kind": kind})
    return dept


def team(code: str = "hotline-1", dept: Department | None = None, is_crew: bool = False) -> Team:
    dept = dept or department()
    obj, _ = Team.objects.get_or_create(
        code=code, defaults={"name": code, "department": dept, "is_crew": is_crew}
    )
    return obj


def make_user(role: Role | str = Role.AGENT, **kwargs: Any) -> User:
    """A staff member with `role`; password PASSWORD unless given."""
    n = next(_serial)
    role = Role(role)
    params: dict[str, Any] = {
        "username": f"{role.value}{n}",
        "full_name": f"{role.label}{n}",
        "password": PASSWORD,
        "employee_no": f"T{n:05d}",
    }
    params.update(kwargs)
    return services.staff_create(actor=SYSTEM, role=role, validate=False, **params)
