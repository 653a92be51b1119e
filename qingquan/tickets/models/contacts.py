"""Contacts: every call, message or visit, linked to the cases it concerns."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingquan.tickets.models.cases import Ticket
from qingquan.tickets.models.kinds import Channel


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
