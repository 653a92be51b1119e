"""Models shared by every domain: the audit log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Reusable filters over the audit log."""

    def search(self, text: str) -> AuditEventQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            models.Q(action__icontains=text)
            | models.Q(object_repr__icontains=text)
            | models.Q(actor_label__icontains=text)
            | models.Q(actor_ref__icontains=text)
            | models.Q(object_id=text)
        )


class AuditEvent(models.Model):
    """One state change made through a service: who, when, what object, before and after.

    Written only by `qingquan.core.audit.audit_record`; never edited or deleted (the admin
    offers neither, and `save` refuses to update an existing row).
    """

    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so the record still says who it was if the account is removed.
    actor_label = models.CharField(_("actor name"), max_length=150, blank=True)
    # Who acted (core.actors): a staff member (`actor`), a partner client or the system;
    # the reference is the username, the partner client's name or the system job's name.
    actor_kind = models.CharField(
        _("actor kind"),
        max_length=10,
        choices=[("staff", _("staff")), ("partner", _("partner")), ("system", _("system"))],
        default="system",
    )
    actor_ref = models.CharField(_("actor reference"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("audit events are append-only")


class CalendarDay(models.Model):
    """One day of China's official calendar: working or not (weekends, public holidays and
    adjusted working days 调休). Seeded from `chinesecalendar`; administrators edit it when
    the State Council publishes next year's schedule."""

    class Source(models.TextChoices):
        PACKAGE = "chinesecalendar", _("chinesecalendar package")
        MANUAL = "manual", _("entered by an administrator")

    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    note = models.CharField(_("note"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("working-day calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'working' if self.is_working_day else 'rest'}"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """An in-app message to one staff member (SLA warnings, hand-offs, escalations…),
    pushed to their open browser tabs over a websocket when it is committed."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        ALERT = "alert", _("Alert")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default=Level.INFO)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    # Lets a sender make "the same notice twice" a no-op (e.g. a re-run sweep).
    dedupe_key = models.CharField(_("de-duplication key"), max_length=120, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_dedupe",
            )
        ]

    def __str__(self) -> str:
        return self.title


class PeriodicSlot(models.Model):
    """Claims one run of a periodic task for one time slot.

    Every worker ticks; the one whose insert of (name, slot) succeeds enqueues the task, so
    any number of workers on any number of machines run each periodic job once per slot.
    """

    name = models.CharField(_("task"), max_length=100)
    slot = models.BigIntegerField(_("slot"))
    claimed_at = models.DateTimeField(_("claimed"))

    class Meta:
        verbose_name = _("periodic run")
        verbose_name_plural = _("periodic runs")
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="periodic_once")]

    def __str__(self) -> str:
        return f"{self.name}#{self.slot}"


class WorkerHeartbeatQuerySet(models.QuerySet["WorkerHeartbeat"]):
    """Reusable filters over the workers' heartbeats."""

    def silent(self, *, now: Any, seconds: int = 60) -> WorkerHeartbeatQuerySet:
        """Workers not heard from for more than `seconds` (dead, hung or cut off)."""
        import datetime as dt

        return self.filter(seen_at__lt=now - dt.timedelta(seconds=seconds))


class WorkerHeartbeat(models.Model):
    """One running background worker (`qingquan worker`, or the one inside `serve`).

    Each worker writes its row every few seconds (`core.worker`); the same beat renews the
    leases on what it has claimed (outbox rows, tasks). A row not renewed for a lease
    period means its claims may be taken over; silent for a minute, it is shown to the
    administrators and supervisors. A worker that stops cleanly deletes its row.
    """

    worker_id = models.CharField(_("worker"), max_length=64, unique=True)
    hostname = models.CharField(_("host"), max_length=100)
    pid = models.PositiveIntegerField(_("process id"))
    kind = models.CharField(_("kind"), max_length=20)
    started_at = models.DateTimeField(_("started"))
    seen_at = models.DateTimeField(_("last heartbeat"), db_index=True)

    objects = WorkerHeartbeatQuerySet.as_manager()

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.hostname}:{self.pid}"
