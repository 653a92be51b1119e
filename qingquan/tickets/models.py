"""Cases (工单), the contacts that open them, and their time limits.

State changes happen only in `qingquan.tickets.services` (one service per transition);
the models hold the rules about one record (which transitions a state allows, how a
policy becomes an SLA clock) and the reusable filters.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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


class TicketState(models.TextChoices):
    RECEIVED = "received", _("Received")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    RETURNED = "returned", _("Returned")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATES = (
    TicketState.RECEIVED,
    TicketState.DISPATCHED,
    TicketState.IN_PROGRESS,
    TicketState.RETURNED,
)
DONE_STATES = (TicketState.RESOLVED, TicketState.CLOSED)


class SlaState(models.TextChoices):
    OK = "ok", _("On track")
    WARNING = "warning", _("Warning")
    BREACHED = "breached", _("Overdue")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Stopped")


class PauseReason(models.TextChoices):
    """Time outside the utility's control (SPEC "Time limits", R-CON-2)."""

    CUSTOMER = "customer", _("Waiting for the customer")
    BUDGET_REVIEW = "budget_review", _("Budget review by the applicant")
    CONTRACT = "contract", _("Contract signing")
    PAYMENT = "payment", _("Payment of works fees")
    FORCE_MAJEURE = "force_majeure", _("Force majeure")


class CallbackOutcome(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    FAIRLY = "fairly_satisfied", _("Fairly satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")
    UNREACHABLE = "unreachable", _("Unreachable")


class TicketQuerySet(models.QuerySet["Ticket"]):
    """Reusable filters over cases."""

    def open(self) -> TicketQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def done(self) -> TicketQuerySet:
        return self.filter(state__in=DONE_STATES)

    def created_between(self, start: dt.datetime, end: dt.datetime) -> TicketQuerySet:
        return self.filter(created_at__gte=start, created_at__lt=end)

    def resolved_between(self, start: dt.datetime, end: dt.datetime) -> TicketQuerySet:
        return self.done().filter(resolved_at__gte=start, resolved_at__lt=end)

    def on_time_between(self, start: dt.datetime, end: dt.datetime) -> TicketQuerySet:
        return self.filter(on_time_in(start, end))

    def late_between(self, start: dt.datetime, end: dt.datetime) -> TicketQuerySet:
        return self.filter(late_in(start, end))


# The on-time rate's rule (docs/kpis.md): every case counts once, as on time in the period
# it was resolved within its limit, or as late in the period its deadline passed unresolved
# (`breached_at`, stamped by the SLA sweep at the deadline or by a late resolution).


def on_time_in(start: dt.datetime, end: dt.datetime) -> models.Q:
    """Cases resolved in ``[start, end)`` within their limit and never overdue."""
    return models.Q(
        state__in=DONE_STATES,
        resolved_at__gte=start,
        resolved_at__lt=end,
        on_time=True,
        breached_at__isnull=True,
    )


def late_in(start: dt.datetime, end: dt.datetime) -> models.Q:
    """Cases whose deadline passed unresolved in ``[start, end)``, resolved since or still
    open (and late resolutions without a breach instant, by their resolution)."""
    return models.Q(breached_at__gte=start, breached_at__lt=end) | models.Q(
        breached_at__isnull=True,
        state__in=DONE_STATES,
        on_time=False,
        resolved_at__gte=start,
        resolved_at__lt=end,
    )


class Ticket(models.Model):
    """A case (工单), owned end to end by the agent who took its first contact."""

    number = models.CharField(_("case number"), max_length=16, unique=True)
    kind = models.ForeignKey(
        CaseKind, verbose_name=_("kind"), on_delete=models.PROTECT, related_name="tickets"
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    caller_name = models.CharField(_("caller"), max_length=60, blank=True)
    caller_phone = models.CharField(_("caller's number"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    district = models.ForeignKey(
        "areas.District",
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    premise = models.ForeignKey(
        "customers.Premise",
        verbose_name=_("premise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )

    state = models.CharField(
        _("state"), max_length=20, choices=TicketState.choices, default=TicketState.RECEIVED
    )
    # First-contact owner (首问责任人): kept through every transfer (R-INTAKE-3).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_tickets",
        db_index=False,  # the (…, state) index below leads with it
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    department = models.ForeignKey(
        "staff.Department",
        verbose_name=_("handling department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,  # the (…, state) index below leads with it
    )
    team = models.ForeignKey(
        "staff.Team",
        verbose_name=_("handling team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,  # the (…, state) index below leads with it
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    created_at = models.DateTimeField(_("received"), db_index=True)
    updated_at = models.DateTimeField(_("updated"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("crew on site"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    callback_outcome = models.CharField(
        _("callback outcome"), max_length=20, choices=CallbackOutcome.choices, blank=True
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalations"), default=0)
    reminder_count = models.PositiveSmallIntegerField(_("reminders"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)

    # Time-limit snapshot: the policy as it was when the case was received, so later
    # policy edits never move the deadlines of cases already promised.
    sla_policy_code = models.CharField(_("policy"), max_length=40)
    sla_clock_kind = models.CharField(_("clock"), max_length=20, choices=ClockKindChoice.choices)
    sla_schedule = models.CharField(_("working-hours periods"), max_length=100, blank=True)
    sla_warn_fraction = models.FloatField(_("warning threshold"))
    sla_resolution_seconds = models.PositiveIntegerField(_("resolution budget (s)"))
    sla_extension_seconds = models.PositiveIntegerField(_("approved extensions (s)"), default=0)
    sla_started_at = models.DateTimeField(_("clock started"))
    response_deadline = models.DateTimeField(_("response deadline"), null=True, blank=True)
    arrival_deadline = models.DateTimeField(_("arrival deadline"), null=True, blank=True)
    restoration_deadline = models.DateTimeField(_("restoration deadline"), null=True, blank=True)
    # Armed timers of the other budgets: the deadline while it can still be missed, None
    # once it is met or its breach was announced (the sweep claims due timers by nulling
    # them in the same UPDATE, so two workers never announce one breach twice).
    response_due = models.DateTimeField(_("response timer"), null=True, blank=True)
    arrival_due = models.DateTimeField(_("arrival timer"), null=True, blank=True)
    restoration_due = models.DateTimeField(_("restoration timer"), null=True, blank=True)
    response_breached_at = models.DateTimeField(_("response overdue"), null=True, blank=True)
    arrival_breached_at = models.DateTimeField(_("arrival overdue"), null=True, blank=True)
    restoration_breached_at = models.DateTimeField(_("restoration overdue"), null=True, blank=True)
    # Denormalised from the SLA engine by the services, so lists and the sweep filter by
    # index instead of running the engine over every open case.
    resolution_deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    warn_at = models.DateTimeField(_("warning at"), null=True, blank=True)
    sla_state = models.CharField(
        _("time limit"), max_length=10, choices=SlaState.choices, default=SlaState.OK
    )
    # First breach of the case; kept through reopening so KPIs remember it.
    breached_at = models.DateTimeField(_("first overdue"), null=True, blank=True)
    on_time = models.BooleanField(_("on time"), null=True, blank=True)
    calendar_gap = models.BooleanField(_("calendar missing"), default=False)
    calendar_gap_years = models.JSONField(_("years missing"), default=list, blank=True)

    version = models.PositiveIntegerField(_("version"), default=1)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["sla_state", "warn_at"], name="ticket_sla_warn"),
            models.Index(fields=["sla_state", "resolution_deadline"], name="ticket_sla_deadline"),
            models.Index(fields=["owner", "state"], name="ticket_owner_state"),
            models.Index(fields=["department", "state"], name="ticket_dept_state"),
            models.Index(fields=["team", "state"], name="ticket_team_state"),
            models.Index(fields=["state", "created_at"], name="ticket_state_created"),
            models.Index(
                fields=["response_due"],
                name="ticket_response_due",
                condition=models.Q(response_due__isnull=False),
            ),
            models.Index(
                fields=["arrival_due"],
                name="ticket_arrival_due",
                condition=models.Q(arrival_due__isnull=False),
            ),
            models.Index(
                fields=["restoration_due"],
                name="ticket_restoration_due",
                condition=models.Q(restoration_due__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def budget_seconds(self) -> int:
        return self.sla_resolution_seconds + self.sla_extension_seconds

    def sla_clock(self, calendar: sla.WorkCalendar) -> sla.Clock:
        """The SLA engine's clock for this case's snapshot."""
        kind = sla.ClockKind(self.sla_clock_kind)
        if kind is sla.ClockKind.CALENDAR:
            return sla.Clock(kind=kind)
        if kind is sla.ClockKind.WORKING_DAYS:
            return sla.Clock(kind=kind, calendar=calendar)
        return sla.Clock(kind=kind, calendar=calendar, schedule=parse_schedule(self.sla_schedule))


class TicketPause(models.Model):
    """One paused interval (挂起) of a case's clock, with its reason."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("case"), on_delete=models.CASCADE, related_name="pauses"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=PauseReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("paused"))
    ended_at = models.DateTimeField(_("resumed"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("paused by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resumed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=models.Q(ended_at__isnull=True), name="one_open_pause"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket.number} {self.get_reason_display()}"

    def as_sla(self) -> sla.Pause:
        return sla.Pause(start=self.started_at, end=self.ended_at)


ACTION_LABELS: dict[str, Any] = {
    "create": _("Received"),
    "dispatch": _("Dispatched"),
    "transfer": _("Transferred"),
    "accept": _("Accepted"),
    "arrive": _("Crew on site"),
    "resolve": _("Resolved"),
    "return": _("Returned"),
    "callback": _("Callback"),
    "close": _("Closed"),
    "reopen": _("Reopened"),
    "pause": _("Clock paused"),
    "resume": _("Clock resumed"),
    "extension_request": _("Extension requested"),
    "extension_approve": _("Extension approved"),
    "extension_refuse": _("Extension refused"),
    "escalate": _("Escalated"),
    "remind": _("Reminder"),
    "change_owner": _("Owner changed"),
    "merge": _("Merged"),
    "merged_in": _("Case merged in"),
    "contact": _("Contact"),
}


class TicketEvent(models.Model):
    """One entry of a case's timeline: every transition, hand-off and note."""

    class Visibility(models.TextChoices):
        INTERNAL = "internal", _("Internal")
        # A context: "Customer" alone is the callbacks list's customer column (用户).
        CUSTOMER = "customer", pgettext_lazy("visibility", "Customer")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("case"), on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=30)
    from_state = models.CharField(_("from"), max_length=20, choices=TicketState.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=20, choices=TicketState.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    visibility = models.CharField(
        _("visible to"), max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case timeline")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"])]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action}"

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.action, self.action))


class TicketExtension(models.Model):
    """A request for more time (延期), approved or refused by a supervisor."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("case"), on_delete=models.CASCADE, related_name="extensions"
    )
    seconds = models.PositiveIntegerField(_("extra budget (s)"))
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        ordering = ["requested_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket.number} +{self.seconds}s {self.status}"


class ContactOutcome(models.TextChoices):
    """How a contact ended (for calls: answered by an agent, or abandoned waiting)."""

    ANSWERED = "answered", _("Answered")
    ABANDONED = "abandoned", _("Abandoned")


class Contact(models.Model):
    """One contact with the public (R-INTAKE-2): a call, a message, a visit.

    `duration_seconds` is the talk time (from answer to end); `wait_seconds` the time a
    caller waited before being answered or giving up.
    """

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    from_address = models.CharField(_("from (number or address)"), max_length=120, blank=True)
    started_at = models.DateTimeField(_("started"), db_index=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    wait_seconds = models.PositiveIntegerField(_("waiting (s)"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=ContactOutcome.choices, blank=True
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    recording_ref = models.CharField(_("recording"), max_length=200, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    note = models.TextField(_("note"), blank=True)
    tickets = models.ManyToManyField(
        Ticket, verbose_name=_("cases"), blank=True, related_name="contacts"
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        from qingquan.customers.privacy import mask

        # Masked: a record's name reaches admin titles, history and the audit log.
        when = f"{self.started_at:%Y-%m-%d %H:%M}"
        return f"{self.get_channel_display()} {mask(self.from_address)} {when}"
