"""What happens to a case: pauses, timeline entries and extension requests."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qingquan.core import sla
from qingquan.tickets.models.cases import PauseReason, Ticket, TicketState


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

    # Set (before saving) on an entry that tells what happened around the case without
    # changing any of its fields (a repair crew's step): receivers that follow the case's
    # fields, such as the KPI rollups, skip it. Whatever does change the case goes
    # through the tickets services, which write entries of their own.
    leaves_case_unchanged = False

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
