"""Statistics: daily KPI rollups, public service commitments, e-mailed report subscriptions.

Rollup grain: one row per local day × top-level kind × district × channel × owner ×
handling department, with the counts every SPEC KPI needs. A case contributes to the
row of the day it was created (created, closed-now), of the day it was resolved
(resolved, and on-time when it was), of the day its deadline passed unresolved (late, see
`rollup.contribution`) and of the day each callback on it was completed (outcomes). The
rows are kept by deltas in the same transaction as the change (see `rollup`), and a
nightly reconciliation proves them equal to a recomputation from the raw rows.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# The figures the reports count, written once: the case measures (`KpiDaily`'s count
# columns, in the order the KPI table shows them), and with the contacts handled
# (`ContactDaily`) every figure a KPI table shows and drills into.
MEASURES = (
    "created",
    "done",
    "resolved",
    "on_time",
    "late",
    "cb_satisfied",
    "cb_fairly",
    "cb_dissatisfied",
    "cb_unreachable",
    "cb_declined",
)
METRICS = ("contacts", *MEASURES)
# A completed callback's outcome → the measure it counts in.
CALLBACK_MEASURES = {
    "satisfied": "cb_satisfied",
    "fairly_satisfied": "cb_fairly",
    "dissatisfied": "cb_dissatisfied",
    "unreachable": "cb_unreachable",
    "declined": "cb_declined",
}
DIMENSIONS = ("day", "kind", "district", "channel", "owner_id", "department_id")


class KpiDaily(models.Model):
    """Case KPI counts for one day and one combination of breakdown values."""

    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=40)
    district = models.CharField(_("district"), max_length=40, blank=True)
    channel = models.CharField(_("channel"), max_length=20)
    owner_id = models.IntegerField(_("owner"))
    department_id = models.IntegerField(_("department"), default=0)
    created = models.IntegerField(_("cases created"), default=0)
    done = models.IntegerField(_("created and resolved"), default=0)
    resolved = models.IntegerField(_("cases resolved"), default=0)
    on_time = models.IntegerField(_("resolved on time"), default=0)
    late = models.IntegerField(_("late"), default=0)
    cb_satisfied = models.IntegerField(_("satisfied"), default=0)
    cb_fairly = models.IntegerField(_("fairly satisfied"), default=0)
    cb_dissatisfied = models.IntegerField(_("dissatisfied"), default=0)
    cb_unreachable = models.IntegerField(_("unreachable"), default=0)
    cb_declined = models.IntegerField(_("declined"), default=0)

    class Meta:
        verbose_name = _("daily KPI rollup")
        verbose_name_plural = _("daily KPI rollups")
        constraints = [
            models.UniqueConstraint(fields=list(DIMENSIONS), name="kpi_daily_grain"),
        ]
        indexes = [models.Index(fields=["day"], name="kpi_daily_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.channel}"


class ContactDaily(models.Model):
    """Contacts handled (受理量) for one day, channel and agent."""

    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=20)
    agent_id = models.IntegerField(_("agent"))
    contacts = models.IntegerField(_("contacts"), default=0)

    class Meta:
        verbose_name = _("daily contact rollup")
        verbose_name_plural = _("daily contact rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "channel", "agent_id"], name="contact_daily_grain"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.contacts}"


class TicketContribution(models.Model):
    """What one case currently adds to the rollups, so a change applies only its delta."""

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    rows = models.JSONField(default=list)

    class Meta:
        verbose_name = _("case rollup contribution")
        verbose_name_plural = _("case rollup contributions")

    def __str__(self) -> str:
        return str(self.ticket_id)


class ServiceCommitment(models.Model):
    """A public service commitment (服务承诺, R-INTAKE-8) and how it is measured."""

    class Measure(models.TextChoices):
        ON_TIME = "on_time", _("Cases of the kind finished within the time limit")
        CLOSURE = "closure", _("Cases of the kind resolved")
        SATISFACTION = "satisfaction", _("Callback satisfaction")

    position = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("commitment"), max_length=120)
    text = models.TextField(_("text shown to the public"))
    time_limit = models.CharField(_("time limit as published"), max_length=60, blank=True)
    kind = models.ForeignKey(
        "tickets.CaseKind",
        verbose_name=_("case kind measured"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: every kind."),
    )
    measure = models.CharField(_("measured by"), max_length=20, choices=Measure.choices)
    target_percent = models.FloatField(_("target (%)"), default=98)
    is_published = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("service commitment")
        verbose_name_plural = _("service commitments")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class ReportSubscription(models.Model):
    """An address that receives the daily or monthly KPI report by e-mail."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        MONTHLY = "monthly", _("Monthly")

    email = models.EmailField(_("e-mail address"))
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    is_active = models.BooleanField(_("active"), default=True)
    last_sent_for = models.DateField(_("last report covered up to"), null=True, blank=True)

    class Meta:
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["email", "frequency"], name="one_subscription")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_frequency_display()})"


class RollupDelta(models.Model):
    """Counts to add to a rollup row, appended by a changing transaction on PostgreSQL and
    folded into `KpiDaily` / `ContactDaily` soon after (decision 0009): every request adds
    a row of its own instead of waiting on the day's shared row. Never lost: the delta
    commits with the change, and a fold deletes it in the transaction that adds it."""

    target = models.CharField(max_length=10)  # "kpi" or "contact"
    key = models.JSONField()  # the rollup row's dimensions, as rollup.Key / ContactKey
    counts = models.JSONField()

    class Meta:
        verbose_name = _("pending rollup count")
        verbose_name_plural = _("pending rollup counts")

    def __str__(self) -> str:
        return f"{self.target} {self.key}: {self.counts}"
