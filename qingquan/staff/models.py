"""Staff accounts, the organisation they belong to, and their shifts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingquan.staff.roles import DepartmentKind, Role


class Department(models.Model):
    """A unit of the utility: the hotline centre, repair, billing, metering, connections."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=20, choices=DepartmentKind.choices)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A team inside a department: an agents' group or a repair crew (班组)."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="teams"
    )
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    is_crew = models.BooleanField(_("repair crew"), default=False)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["department__code", "code"]

    def __str__(self) -> str:
        return self.name


class StaffManager(UserManager["User"]):
    """Manager for staff accounts."""


class User(AbstractUser):
    """A staff member's account. Customers never get one: the portal has its own."""

    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    employee_no = models.CharField(_("employee number"), max_length=20, blank=True)
    extension = models.CharField(_("phone extension"), max_length=10, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )

    objects = StaffManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        constraints = [
            models.UniqueConstraint(
                fields=["employee_no"],
                condition=~models.Q(employee_no=""),
                name="staff_unique_employee_no",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name()

    def get_full_name(self) -> str:
        # Chinese names are not split into first and last.
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return self.get_full_name()

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


# The standard shifts of the hotline and the crews, named in both languages.
SHIFT_LABELS: dict[str, Any] = {
    "early": _("Early shift"),
    "late": _("Late shift"),
    "night": _("Night shift"),
    "office": _("Office hours"),
    "crew-day": _("Crew day shift"),
    "crew-night": _("Crew night shift"),
}


class Shift(models.Model):
    """A recurring shift pattern, e.g. 早班 08:00–16:00; may end after midnight."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=40)
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["starts"]

    def __str__(self) -> str:
        return f"{self.label} {self.starts:%H:%M}–{self.ends:%H:%M}"

    @property
    def label(self) -> str:
        """The shift's name in the reader's language: the standard shifts by their code,
        others by the name an administrator gave them."""
        known = SHIFT_LABELS.get(self.code)
        return str(known) if known is not None else self.name

    @property
    def crosses_midnight(self) -> bool:
        return self.ends <= self.starts

    def window(self, day: dt.date, tz: Any) -> tuple[dt.datetime, dt.datetime]:
        """The aware start and end of this shift when worked on `day`."""
        start = dt.datetime.combine(day, self.starts, tzinfo=tz)
        end_day = day + dt.timedelta(days=1) if self.crosses_midnight else day
        return start, dt.datetime.combine(end_day, self.ends, tzinfo=tz)


class ShiftAssignmentQuerySet(models.QuerySet["ShiftAssignment"]):
    """Filters over the roster."""

    def around(self, day: dt.date) -> ShiftAssignmentQuerySet:
        # A night shift that began yesterday may still be running today.
        return self.filter(date__range=(day - dt.timedelta(days=1), day))


class ShiftAssignment(models.Model):
    """One staff member rostered on one shift on one date."""

    user = models.ForeignKey(
        User, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="shifts"
    )
    shift = models.ForeignKey(
        Shift, verbose_name=_("shift"), on_delete=models.PROTECT, related_name="assignments"
    )
    date = models.DateField(_("date"))

    objects = ShiftAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("shift assignment")
        verbose_name_plural = _("roster")
        ordering = ["date", "shift__starts"]
        constraints = [
            models.UniqueConstraint(fields=["user", "date", "shift"], name="roster_unique"),
        ]
        indexes = [models.Index(fields=["date", "shift"])]

    def __str__(self) -> str:
        return f"{self.date} {self.shift.label} {self.user}"
