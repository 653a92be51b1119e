"""Channels, priorities, case kinds with their time-limit policies, the kinds' cache
token and the day counters of case numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingquan.core import sla
from qingquan.staff.roles import DepartmentKind


class Channel(models.TextChoices):
    """Where a contact came in (R-CH-1, R-CH-2, R-INTAKE-7)."""

    PHONE = "phone", _("Phone")
    IVR = "ivr", _("IVR")
    WECHAT = "wechat", _("WeChat")
    ALIPAY = "alipay", _("Alipay")
    SMS = "sms", _("SMS")
    WEIBO = "weibo", _("Weibo")
    WEB = "web", _("Online service hall")
    COUNTER = "counter", _("Counter")
    PROVINCIAL = "provincial", _("Provincial service platform")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class ClockKindChoice(models.TextChoices):
    CALENDAR = sla.ClockKind.CALENDAR.value, _("Calendar time (24/7)")
    WORKING_DAYS = sla.ClockKind.WORKING_DAYS.value, _("Working days")
    WORKING_HOURS = sla.ClockKind.WORKING_HOURS.value, _("Working hours")


def parse_schedule(text: str) -> sla.Schedule | None:
    """Parse "08:30-12:00,13:30-17:30" into a Schedule; "" gives None."""
    text = (text or "").strip()
    if not text:
        return None
    periods = []
    for part in text.replace("，", ",").split(","):
        try:
            start, end = (dt.time.fromisoformat(p.strip()) for p in part.split("-"))
        except ValueError:
            raise ValidationError(
                _("Write periods as HH:MM-HH:MM separated by commas, e.g. 08:30-12:00,13:30-17:30.")
            ) from None
        periods.append((start, end))
    try:
        return sla.Schedule(periods=tuple(periods))
    except ValueError as error:
        raise ValidationError(str(error)) from None


class SlaPolicy(models.Model):
    """A time-limit policy: the clock and the budgets a case kind promises (服务承诺).

    Budgets are seconds of counted time on the policy's clock (a working day is 86 400 s
    of a working day). Arrival and restoration (repairs) always run on calendar time.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    clock_kind = models.CharField(_("clock"), max_length=20, choices=ClockKindChoice.choices)
    schedule = models.CharField(
        _("working-hours periods"),
        max_length=100,
        blank=True,
        help_text=_("Only for working-hours clocks, e.g. 08:30-12:00,13:30-17:30."),
    )
    response_seconds = models.PositiveIntegerField(_("response budget (s)"), null=True, blank=True)
    resolution_seconds = models.PositiveIntegerField(_("resolution budget (s)"))
    arrival_seconds = models.PositiveIntegerField(
        _("arrival budget (s, calendar)"), null=True, blank=True
    )
    restoration_seconds = models.PositiveIntegerField(
        _("restoration budget (s, calendar)"), null=True, blank=True
    )
    warn_fraction = models.FloatField(
        _("warning threshold"),
        default=0.8,
        help_text=_("Share of the budget used at which owner and supervisors are warned."),
    )

    class Meta:
        verbose_name = _("time-limit policy")
        verbose_name_plural = _("time-limit policies")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        schedule = parse_schedule(self.schedule)
        if self.clock_kind == ClockKindChoice.WORKING_HOURS and schedule is None:
            raise ValidationError({"schedule": _("A working-hours clock needs its periods.")})
        if self.clock_kind != ClockKindChoice.WORKING_HOURS and schedule is not None:
            raise ValidationError({"schedule": _("Only a working-hours clock has periods.")})
        if not 0 < self.warn_fraction < 1:
            raise ValidationError({"warn_fraction": _("Use a share between 0 and 1, e.g. 0.8.")})


class CaseKind(models.Model):
    """A kind of request (R-INTAKE-1); a kind with a parent is a sub-kind (e.g. 报修/爆管).

    A sub-kind without its own policy, department or priority inherits its parent's.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent kind"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    default_priority = models.CharField(
        _("default priority"), max_length=10, choices=Priority.choices, blank=True
    )
    # Departments are organisation data entered after installation: a kind names the
    # kind of department it goes to, and an administrator may pin one department.
    department_kind = models.CharField(
        _("responsible department kind"), max_length=20, choices=DepartmentKind.choices, blank=True
    )
    department = models.ForeignKey(
        "staff.Department",
        verbose_name=_("responsible department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    policy = models.ForeignKey(
        SlaPolicy,
        verbose_name=_("time-limit policy"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="kinds",
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("case kind")
        verbose_name_plural = _("case kinds")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        if self.parent is not None:
            return f"{self.parent.name} / {self.name}"
        return self.name

    def clean(self) -> None:
        if self.parent is not None and self.parent.parent_id:
            raise ValidationError({"parent": _("Sub-kinds go one level deep.")})
        if self.parent_id is None and self.policy_id is None:
            raise ValidationError({"policy": _("A top-level kind needs a time-limit policy.")})

    @property
    def top(self) -> CaseKind:
        return self.parent if self.parent_id else self  # type: ignore[return-value]

    def effective_policy(self) -> SlaPolicy:
        policy = self.policy or (self.parent.policy if self.parent is not None else None)
        if policy is None:
            raise ValidationError(
                _("The case kind %(kind)s has no time-limit policy.") % {"kind": self}
            )
        return policy

    def effective_priority(self) -> str:
        if self.default_priority:
            return self.default_priority
        if self.parent is not None and self.parent.default_priority:
            return self.parent.default_priority
        return Priority.NORMAL

    def responsible_department(self) -> Any:
        """The department cases of this kind are dispatched to by default (or None)."""
        from qingquan.staff.models import Department

        for kind in (self, self.parent) if self.parent_id else (self,):
            if kind is None:
                continue
            if kind.department_id:
                return kind.department
            if kind.department_kind:
                return Department.objects.filter(kind=kind.department_kind).order_by("code").first()
        return None


class KindsVersion(models.Model):
    """One row whose token changes with every edit of a case kind or time-limit policy.

    Processes cache kinds and policies (`qingquan.tickets.reference`); case creation reads
    this token in the same statement that takes the case number, so a cache that another
    process made stale is noticed before a case is promised the old time limit.
    """

    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = _("case kinds version")
        verbose_name_plural = _("case kinds versions")

    def __str__(self) -> str:
        return self.token


class DayCounter(models.Model):
    """The last case number handed out on one local day (for 20261128-0042 numbers)."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("case number counter")
        verbose_name_plural = _("case number counters")

    def __str__(self) -> str:
        return f"{self.day} {self.last}"
