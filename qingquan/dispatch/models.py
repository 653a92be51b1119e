"""Repair dispatch (管网抢修调度): repair jobs (抢修任务) for crews, their time budgets, the
crews themselves, who is assigned to which job, and each step a crew takes.

A job is made from a repair case or from an incident (a case others were merged into,
R-REP-2); it carries where (a point, the pipe and its valve-bounded segment, the valves of
the isolation plan) and two clocks on calendar time: arrival and restoration of supply,
with budgets from a `RepairPolicy` chosen by kind and pipe diameter and copied onto the job
(a later edit of the policy never moves the deadlines of jobs already made). Waiting for a
road permit or for the customer pauses the restoration clock (`JobPause`).

State changes happen only in `qingquan.dispatch.services`.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qingquan.core import sla


class JobKind(models.TextChoices):
    BURST = "burst", _("Burst main")
    LEAK = "leak", _("Leak")
    SERVICE_PIPE = "service_pipe", _("Service pipe")
    FROZEN_METER = "frozen_meter", _("Frozen meter")
    OTHER = "other", _("Other repair")


class JobPriority(models.TextChoices):
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_RANK: dict[str, int] = {"urgent": 0, "high": 1, "normal": 2}


class RepairPolicy(models.Model):
    """Time budgets of a kind of repair on pipes of at least `min_diameter_mm` (the policy
    with the largest minimum not above the pipe's diameter applies). Budgets are seconds of
    calendar time (repairs run 24/7)."""

    kind = models.CharField(_("kind"), max_length=20, choices=JobKind.choices)
    min_diameter_mm = models.PositiveIntegerField(
        _("from diameter (DN, mm)"),
        default=0,
        help_text=_("Applies to pipes of at least this diameter (0: every pipe)."),
    )
    name = models.CharField(_("name"), max_length=80)
    priority = models.CharField(
        _("priority"), max_length=10, choices=JobPriority.choices, default=JobPriority.HIGH
    )
    arrive_seconds = models.PositiveIntegerField(_("arrive within (s)"))
    restore_seconds = models.PositiveIntegerField(_("restore supply within (s)"))
    warn_fraction = models.FloatField(
        _("warning threshold"),
        default=0.75,
        help_text=_("Share of a budget used at which the clock turns amber."),
    )

    class Meta:
        verbose_name = _("repair time policy")
        verbose_name_plural = _("repair time policies")
        ordering = ["kind", "-min_diameter_mm"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "min_diameter_mm"], name="dispatch_policy_one")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not 0 < self.warn_fraction < 1:
            raise ValidationError({"warn_fraction": _("Use a share between 0 and 1, e.g. 0.75.")})
        if (
            self.arrive_seconds
            and self.restore_seconds
            and (self.restore_seconds < self.arrive_seconds)
        ):
            raise ValidationError(
                {"restore_seconds": _("Supply cannot be restored before the crew arrives.")}
            )


class CrewStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    EN_ROUTE = "en_route", _("En route")
    ON_SITE = "on_site", _("On site")
    OFF_DUTY = "off_duty", _("Off duty")


class Skill(models.TextChoices):
    LARGE_MAINS = "large_mains", _("Large mains")
    VALVES = "valves", _("Valves")
    METERS = "meters", _("Meters")
    NIGHT = "night", _("Night work")


class Crew(models.Model):
    """A repair crew: a staff team (`Team.is_crew`) whose members are its staff, with the
    crew's skills, vehicle, status and last known position (the depot until the crew app
    sends one)."""

    team = models.OneToOneField(
        "staff.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        related_name="crew",
        limit_choices_to={"is_crew": True},
    )
    skills = models.JSONField(_("skills"), default=list, blank=True)
    vehicle = models.CharField(_("vehicle"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CrewStatus.choices, default=CrewStatus.AVAILABLE
    )
    district = models.ForeignKey(
        "areas.District",
        verbose_name=_("home district"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    depot_longitude = models.FloatField(_("depot longitude"))
    depot_latitude = models.FloatField(_("depot latitude"))
    last_longitude = models.FloatField(_("last longitude"), null=True, blank=True)
    last_latitude = models.FloatField(_("last latitude"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("position at"), null=True, blank=True)

    class Meta:
        verbose_name = _("crew")
        verbose_name_plural = _("crews")
        ordering = ["team__code"]

    def __str__(self) -> str:
        return self.team.name

    def clean(self) -> None:
        unknown = [s for s in self.skills or [] if s not in Skill.values]
        if unknown:
            raise ValidationError(
                {"skills": _("Unknown skills: %(s)s") % {"s": ", ".join(unknown)}}
            )
        for field, low, high in (("depot_longitude", -180, 180), ("depot_latitude", -90, 90)):
            value = getattr(self, field)
            if value is not None and not low <= value <= high:
                raise ValidationError({field: _("Out of range.")})

    @property
    def position(self) -> tuple[float, float]:
        """Where the crew is (lon, lat): its last position, else its depot."""
        if self.last_longitude is not None and self.last_latitude is not None:
            return self.last_longitude, self.last_latitude
        return self.depot_longitude, self.depot_latitude

    @property
    def at_depot(self) -> bool:
        return self.last_longitude is None or self.last_latitude is None

    def skill_labels(self) -> list[str]:
        return [str(Skill(s).label) for s in self.skills if s in Skill.values]


class JobState(models.TextChoices):
    NEW = "new", _("Waiting for a crew")
    ASSIGNED = "assigned", _("Assigned")
    ACCEPTED = "accepted", _("Accepted")
    EN_ROUTE = "en_route", _("En route")
    ON_SITE = "on_site", _("On site")
    REPAIRED = "repaired", _("Repaired")
    RESTORED = "restored", _("Supply restored")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_JOB_STATES = (
    JobState.NEW,
    JobState.ASSIGNED,
    JobState.ACCEPTED,
    JobState.EN_ROUTE,
    JobState.ON_SITE,
    JobState.REPAIRED,
)


class JobQuerySet(models.QuerySet["Job"]):
    def open(self) -> JobQuerySet:
        return self.filter(state__in=OPEN_JOB_STATES)


class Job(models.Model):
    """A repair job (抢修任务) on one case or incident (`ticket`)."""

    number = models.CharField(_("job number"), max_length=24, unique=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("case"), on_delete=models.PROTECT, related_name="jobs"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=JobKind.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=JobPriority.choices)
    state = models.CharField(
        _("state"), max_length=10, choices=JobState.choices, default=JobState.NEW
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    district = models.ForeignKey(
        "areas.District",
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    longitude = models.FloatField(_("longitude"))
    latitude = models.FloatField(_("latitude"))
    pipe = models.ForeignKey(
        "network.Pipe",
        verbose_name=_("pipe"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    pipe_eid = models.CharField(_("pipe id"), max_length=40, blank=True)
    diameter_mm = models.FloatField(_("diameter (mm)"), default=0)
    segment = models.IntegerField(_("segment"), null=True, blank=True)
    # The isolation plan when the job was made: [{"eid", "lon", "lat", "pipe"}, …].
    valves = models.JSONField(_("valves to close"), default=list, blank=True)
    affected_premises = models.PositiveIntegerField(_("premises without water"), default=0)
    # The policy as it was when the job was made.
    policy_name = models.CharField(_("policy"), max_length=80)
    arrive_seconds = models.PositiveIntegerField(_("arrive within (s)"))
    restore_seconds = models.PositiveIntegerField(_("restore supply within (s)"))
    warn_fraction = models.FloatField(_("warning threshold"))
    created_at = models.DateTimeField(_("made"), db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("made by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    arrive_deadline = models.DateTimeField(_("arrival deadline"))
    # None while the restoration clock is paused.
    restore_deadline = models.DateTimeField(_("restoration deadline"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    repaired_at = models.DateTimeField(_("repaired"), null=True, blank=True)
    restored_at = models.DateTimeField(_("supply restored"), null=True, blank=True)
    closed_valves = models.JSONField(_("valves closed"), default=list, blank=True)
    note = models.TextField(_("note"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("repair job")
        verbose_name_plural = _("repair jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="dispatch_job_state")]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_JOB_STATES

    def clocks(
        self, *, now: dt.datetime, pauses: list[JobPause] | None = None
    ) -> tuple[sla.SlaStatus, sla.SlaStatus]:
        """The arrival and restoration clocks at `now` (the SLA engine, calendar time);
        pauses stop only the restoration clock."""
        calendar = sla.Clock(kind=sla.ClockKind.CALENDAR)
        rows = pauses if pauses is not None else list(self.pauses.all())
        arrive = sla.status(
            clock=calendar,
            start=self.created_at,
            budget_seconds=self.arrive_seconds,
            now=self.arrived_at or now,
        )
        restore = sla.status(
            clock=calendar,
            start=self.created_at,
            budget_seconds=self.restore_seconds,
            pauses=[p.as_sla() for p in rows],
            now=self.restored_at or now,
        )
        return arrive, restore


class PauseReason(models.TextChoices):
    ROAD_PERMIT = "road_permit", _("Waiting for a road permit")
    CUSTOMER = "customer", _("Waiting for the customer")
    OTHER = "other", _("Other reason outside our control")


class JobPause(models.Model):
    """One paused interval of a job's restoration clock, with its reason."""

    job = models.ForeignKey(
        Job, verbose_name=_("job"), on_delete=models.CASCADE, related_name="pauses"
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

    class Meta:
        verbose_name = _("restoration pause")
        verbose_name_plural = _("restoration pauses")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job"], condition=models.Q(ended_at__isnull=True), name="dispatch_one_pause"
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.get_reason_display()}"

    def as_sla(self) -> sla.Pause:
        return sla.Pause(start=self.started_at, end=self.ended_at)


class Assignment(models.Model):
    """A crew sent to a job (several crews may work one big job). Ended when the crew is
    taken off (reassigned, with a reason) or the job is done."""

    job = models.ForeignKey(
        Job, verbose_name=_("job"), on_delete=models.CASCADE, related_name="assignments"
    )
    crew = models.ForeignKey(
        Crew, verbose_name=_("crew"), on_delete=models.PROTECT, related_name="assignments"
    )
    assigned_at = models.DateTimeField(_("assigned"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    end_reason = models.CharField(_("reason taken off"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("crew assignment")
        verbose_name_plural = _("crew assignments")
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "crew"],
                condition=models.Q(ended_at__isnull=True),
                name="dispatch_one_active_assignment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.job_id} → {self.crew_id}"

    @property
    def active(self) -> bool:
        return self.ended_at is None


class StepKind(models.TextChoices):
    ACCEPT = "accept", _("Accepted")
    EN_ROUTE = "en_route", pgettext_lazy("crew step", "On the way")
    ARRIVE = "arrive", _("Arrived on site")
    VALVE = "valve", _("Valve closed")
    REPAIRED = "repaired", _("Repaired")
    RESTORED = "restored", _("Supply restored (valves reopened)")
    NOTE = "note", pgettext_lazy("crew step", "Note")
    PHOTO = "photo", _("Photo")


class JobStep(models.Model):
    """One step a crew took, with the time it was taken on the phone (`at`) and when the
    server received it. `client_id` (made by the phone) makes every step idempotent: the
    same step sent twice (an offline queue replayed) is recorded once."""

    job = models.ForeignKey(
        Job, verbose_name=_("job"), on_delete=models.CASCADE, related_name="steps"
    )
    crew = models.ForeignKey(
        Crew,
        verbose_name=_("crew"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("step"), max_length=10, choices=StepKind.choices)
    client_id = models.CharField(_("step id"), max_length=64, unique=True)
    at = models.DateTimeField(_("taken at"))
    received_at = models.DateTimeField(_("received at"))
    offline = models.BooleanField(_("sent from the offline queue"), default=False)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    valve = models.CharField(_("valve"), max_length=60, blank=True)
    note = models.TextField(_("note"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="repairs/%Y/%m/", blank=True)
    photo_phase = models.CharField(_("photo of"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("crew step")
        verbose_name_plural = _("crew steps")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["job", "at"], name="dispatch_step_job_at")]

    def __str__(self) -> str:
        return f"{self.job_id} {self.kind}"


class CrewMessage(models.Model):
    """An outbox row (`core.outbox`): a text message to a crew member's phone when a job is
    assigned to their crew, written in the assigning transaction, sent by the workers'
    dispatcher (the demo gateway logs it)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.CASCADE, related_name="+"
    )
    job = models.ForeignKey(Job, verbose_name=_("job"), on_delete=models.CASCADE, related_name="+")
    text = models.CharField(_("text"), max_length=300)
    created_at = models.DateTimeField(_("written"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claimed_by = models.CharField(max_length=80, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("crew message")
        verbose_name_plural = _("crew messages")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.job_id} → {self.recipient_id}"


def crew_members(crew: Crew) -> Any:
    """The crew's staff (active members of its team)."""
    return crew.team.members.filter(is_active=True)


class ReferralPartner(models.Model):
    """A company a case may be referred to when the help asked for is beyond the utility's
    duty (R-REP-3): leak detection on a customer's private pipes, plumbing…"""

    name = models.CharField(_("name"), max_length=80, unique=True)
    service = models.CharField(_("service"), max_length=120)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("referral partner")
        verbose_name_plural = _("referral partners")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Referral(models.Model):
    """A case referred to a referral partner, on the case's timeline."""

    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("case"), on_delete=models.CASCADE, related_name="referrals"
    )
    partner = models.ForeignKey(
        ReferralPartner,
        verbose_name=_("referred to"),
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("referred"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.partner_id}"


@functools.cache
def case_fields_unread(*kept: str) -> tuple[str, ...]:
    """The `ticket__…` names a job's query defers when it needs only `kept` of its case's
    columns (and the id): compiling and converting the case's 50-odd columns cost more than
    a crew's step itself."""
    ticket = Job._meta.get_field("ticket").related_model
    keep = {"id", *kept}
    return tuple(f"ticket__{f.name}" for f in ticket._meta.concrete_fields if f.name not in keep)
