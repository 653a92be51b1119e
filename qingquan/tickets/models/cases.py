"""The case (工单): its states, its querysets and its record."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingquan.core import sla
from qingquan.tickets.models.kinds import (
    CaseKind,
    Channel,
    ClockKindChoice,
    Priority,
    parse_schedule,
)


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
