"""Every change to staff accounts and the roster goes through these functions.

Each runs in one transaction and writes its audit event in it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core.audit import audit_record, snapshot
from qingquan.staff.models import Department, Shift, ShiftAssignment, Team, User
from qingquan.staff.roles import Role

PROFILE_FIELDS = (
    "username",
    "full_name",
    "role",
    "employee_no",
    "extension",
    "department",
    "team",
    "is_active",
)


def _check_team(department: Department | None, team: Team | None) -> None:
    if team is not None and department is not None and team.department_id != department.pk:
        raise ValidationError({"team": _("The team belongs to another department.")})


@transaction.atomic
def staff_create(
    *,
    actor: Any,
    username: str,
    full_name: str,
    role: Role | str,
    password: str | None,
    department: Department | None = None,
    team: Team | None = None,
    employee_no: str = "",
    extension: str = "",
    validate: bool = True,
    password_hash: str | None = None,
) -> User:
    """Create a staff account. `password=None` creates it without a usable password;
    `password_hash` (from make_password) sets one already hashed, so seeding many accounts
    with one password costs one Argon2 run instead of one each."""
    role = Role(role)
    _check_team(department, team)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This login name is taken.")})
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        department=department,
        team=team,
        employee_no=employee_no,
        extension=extension,
        # The Django admin site checks is_staff; our own capability check comes first.
        # Nobody is a superuser: administrators hold capabilities like every role.
        is_staff=True,
        is_superuser=False,
    )
    if password_hash is not None:
        user.password = password_hash
    elif password is None:
        user.set_unusable_password()
    else:
        if validate:
            validate_password(password, user)
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(actor=actor, action="staff.create", obj=user, after=snapshot(user, PROFILE_FIELDS))
    return user


@transaction.atomic
def staff_update(*, actor: Any, user: User, **changes: Any) -> User:
    """Change a staff member's profile fields (role, department, team, extension …)."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    user = User.objects.select_for_update().get(pk=user.pk)
    before = snapshot(user, PROFILE_FIELDS)
    for name, value in changes.items():
        setattr(user, name, value)
    if "role" in changes:
        user.role = Role(user.role)
    _check_team(user.department, user.team)
    user.full_clean(exclude=["password"])
    user.save()
    after = snapshot(user, PROFILE_FIELDS)
    if after != before:
        audit_record(actor=actor, action="staff.update", obj=user, before=before, after=after)
    return user


@transaction.atomic
def staff_change_password(*, actor: Any, user: User, new_password: str) -> None:
    """Set a new password (already validated by the form); the hash is never logged."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="staff.password_change", obj=user)


@transaction.atomic
def shift_assign(*, actor: Any, user: User, shift: Shift, date: dt.date) -> ShiftAssignment:
    """Put a staff member on a shift on a date (idempotent)."""
    assignment, created = ShiftAssignment.objects.get_or_create(user=user, shift=shift, date=date)
    if created:
        audit_record(
            actor=actor,
            action="roster.assign",
            obj=assignment,
            after={"user": user.pk, "shift": shift.code, "date": date},
        )
    return assignment


@transaction.atomic
def shift_unassign(*, actor: Any, assignment: ShiftAssignment) -> None:
    """Take a staff member off a shift."""
    audit_record(
        actor=actor,
        action="roster.unassign",
        obj=assignment,
        before={
            "user": assignment.user_id,
            "shift": assignment.shift.code,
            "date": assignment.date,
        },
    )
    assignment.delete()
