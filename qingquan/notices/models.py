"""Interruption notices, their published versions, the frozen list of who each version
told, the hotline calls they drew, and customers' subscriptions."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from qingquan.core import clock


class NoticeKind(models.TextChoices):
    PLANNED = "planned", _("Planned interruption")
    UNPLANNED = "unplanned", _("Unplanned interruption")
    LOW_PRESSURE = "low_pressure", _("Low pressure")
    WATER_QUALITY = "water_quality", _("Water quality")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting approval")
    PUBLISHED = "published", _("Published")
    RESTORED = "restored", _("Supply restored")
    CLOSED = "closed", _("Closed")


class AreaSource(models.TextChoices):
    PLAN = "plan", _("Isolation plan of a pipe")
    STREETS = "streets", _("Streets and communities")
    ACCOUNTS = "accounts", _("List of accounts")
    POLYGON = "polygon", _("Polygon drawn on the map")


ACTIVE = (NoticeStatus.PUBLISHED,)


class NoticeQuerySet(models.QuerySet["Notice"]):
    def active(self) -> NoticeQuerySet:
        """Published and not yet restored: water is off (or will be) for someone now."""
        return self.filter(status__in=ACTIVE)

    def public(self) -> NoticeQuerySet:
        return self.filter(
            status__in=(NoticeStatus.PUBLISHED, NoticeStatus.RESTORED, NoticeStatus.CLOSED)
        )


class Notice(models.Model):
    """An interruption notice: the working copy that is edited, approved and published.

    Each publication (the first, an update, the restoration) freezes a `NoticeVersion`
    with the recipients of that moment. The area is one of: the isolation plan of a pipe
    (`pipe`, with the low-pressure area of its hydraulic run when one is finished), a list
    of streets and communities, or a list of account numbers (`area`).
    """

    number = models.CharField(_("number"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT
    )
    title = models.CharField(_("title"), max_length=120)
    area_source = models.CharField(_("area from"), max_length=10, choices=AreaSource.choices)
    pipe = models.CharField(_("pipe"), max_length=40, blank=True)
    include_low_pressure = models.BooleanField(_("include the low-pressure area"), default=True)
    area = models.JSONField(_("area"), default=dict, blank=True)
    area_text = models.CharField(_("area (as published)"), max_length=500, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    expected_end_at = models.DateTimeField(_("expected end"))
    reason = models.CharField(_("reason"), max_length=300)
    alternative_supply = models.CharField(
        _("alternative supply (water tankers)"), max_length=300, blank=True
    )
    contact = models.CharField(_("contact"), max_length=120, blank=True)
    late_reason = models.CharField(_("reason for late notice"), max_length=300, blank=True)
    late_approved_by = models.ForeignKey(
        "staff.User",
        verbose_name=_("late notice approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        "staff.User",
        verbose_name=_("drafted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        "staff.User",
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("published version"), default=0)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    published_at = models.DateTimeField(_("first published"), null=True, blank=True)
    restored_at = models.DateTimeField(_("restored"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    calls = models.PositiveIntegerField(_("calls about it"), default=0)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("interruption notice")
        verbose_name_plural = _("interruption notices")
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def urgent(self) -> bool:
        from qingquan.notices.rules import kind_rule

        return kind_rule(self.kind).urgent

    @property
    def current(self) -> NoticeVersion | None:
        return self.versions.order_by("-number").first()

    def lead_hours(self) -> float:
        """Hours between the first publication (or now) and the start."""
        at = self.published_at or clock.now()
        return (self.starts_at - at).total_seconds() / 3600


class VersionEvent(models.TextChoices):
    PUBLISHED = "published", _("Published")
    UPDATED = "updated", _("Updated")
    RESTORED = "restored", _("Supply restored")


class NoticeVersion(models.Model):
    """What was published at one moment, and to whom (frozen; never changed)."""

    notice = models.ForeignKey(
        Notice, verbose_name=_("notice"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    event = models.CharField(_("event"), max_length=10, choices=VersionEvent.choices)
    starts_at = models.DateTimeField(_("starts"))
    expected_end_at = models.DateTimeField(_("expected end"))
    reason = models.CharField(_("reason"), max_length=300)
    alternative_supply = models.CharField(_("alternative supply"), max_length=300, blank=True)
    contact = models.CharField(_("contact"), max_length=120, blank=True)
    area_text = models.CharField(_("area"), max_length=500, blank=True)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    message = models.TextField(_("message"))
    published_at = models.DateTimeField(_("published"))
    published_by = models.ForeignKey(
        "staff.User",
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    accounts = models.PositiveIntegerField(_("accounts"), default=0)
    phones = models.PositiveIntegerField(_("phone numbers"), default=0)
    critical = models.PositiveIntegerField(_("critical customers"), default=0)
    by_area = models.JSONField(_("counts by district and street"), default=list)
    messages = models.PositiveIntegerField(_("messages queued"), default=0)

    class Meta:
        verbose_name = _("notice version")
        verbose_name_plural = _("notice versions")
        ordering = ["notice", "number"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "number"], name="notice_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.notice.number} v{self.number}"


class NoticeRecipient(models.Model):
    """One affected account of one version, with the number it was told at (frozen).

    Written in bulk at publication (`core.db.bulkload`); plain ids, not foreign keys, so
    that the record stays as it was whatever later happens to the account."""

    version = models.ForeignKey(
        NoticeVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="+"
    )
    account_id = models.BigIntegerField(_("account"))
    account_number = models.CharField(_("account number"), max_length=20)
    premise_id = models.BigIntegerField(_("premise"), db_index=True)
    customer_id = models.BigIntegerField(_("customer"))
    district = models.CharField(_("district"), max_length=40, blank=True)
    street = models.CharField(_("street"), max_length=40, blank=True)
    phone = models.CharField(_("phone (E.164)"), max_length=20, blank=True, db_index=True)
    critical_kind = models.CharField(_("critical customer"), max_length=12, blank=True)
    low_pressure = models.BooleanField(_("low pressure only"), default=False)

    class Meta:
        verbose_name = _("notified account")
        verbose_name_plural = _("notified accounts")
        indexes = [models.Index(fields=["version", "account_id"], name="notice_recipient_acct")]

    def __str__(self) -> str:
        return self.account_number


class NoticeCall(models.Model):
    """A hotline contact about an active notice ("已告知停水"): no case is made."""

    notice = models.ForeignKey(
        Notice, verbose_name=_("notice"), on_delete=models.CASCADE, related_name="call_log"
    )
    version = models.PositiveIntegerField(_("version"))
    contact = models.OneToOneField(
        "tickets.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("call about a notice")
        verbose_name_plural = _("calls about notices")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.notice.number} {self.at:%Y-%m-%d %H:%M}"


class SubscriptionChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("E-mail")


class Subscription(models.Model):
    """A customer's wish to hear of interruptions at a premise by SMS, WeChat or e-mail."""

    premise = models.ForeignKey(
        "customers.Premise",
        verbose_name=_("premise"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=SubscriptionChannel.choices)
    address = models.CharField(_("phone, WeChat openid or e-mail"), max_length=200)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("notice subscription")
        verbose_name_plural = _("notice subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["premise", "channel", "address"], name="notice_subscription_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} …{self.address[-4:]}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "premise": self.premise_id,
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
        }
