"""Outbound messages: one row per message and recipient (the outbox of every channel),
and the addresses that unsubscribed (退订)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("E-mail")
    WEIBO = "weibo", _("Weibo")
    ALIPAY = "alipay", _("Alipay life account")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Not sent (unsubscribed)")


class Receipt(models.TextChoices):
    NONE = "", _("No receipt yet")
    DELIVERED = "delivered", _("Delivered")
    UNDELIVERED = "undelivered", _("Not delivered")


class MessageQuerySet(models.QuerySet["Message"]):
    def of(self, source: str, source_id: int) -> MessageQuerySet:
        return self.filter(source=source, source_id=source_id)


class Message(models.Model):
    """One message to one address, in the outbox of `qingquan.core.outbox`.

    Written in the transaction of the change that causes it (a notice published), unique
    per source, channel and address: a replay writes nothing. `message_id` is stable
    across attempts: it is the SMS gateway's OutId and WeChat's client_msg_id, so a
    message whose worker died mid-send (`in_doubt`) is looked up at the gateway before it
    is sent again. `receipt` is the gateway's delivery report.
    """

    message_id = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    to = models.CharField(_("to"), max_length=200)
    template = models.CharField(_("template"), max_length=40)
    params = models.JSONField(_("template parameters"), default=dict)
    body = models.TextField(_("text"))
    segments = models.PositiveSmallIntegerField(_("SMS segments"), default=1)
    urgent = models.BooleanField(_("urgent (sent in quiet hours)"), default=False)
    source = models.CharField(_("source"), max_length=40)
    source_id = models.BigIntegerField(_("source id"))
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    in_doubt = models.BooleanField(_("sent, answer unknown"), default=False)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    provider_ref = models.CharField(_("gateway reference"), max_length=64, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    receipt = models.CharField(
        _("receipt"), max_length=12, choices=Receipt.choices, blank=True, default=""
    )
    receipt_at = models.DateTimeField(_("receipt at"), null=True, blank=True)
    receipt_error = models.CharField(_("receipt error"), max_length=120, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id", "channel", "to"], name="message_once_per_source"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_due"),
            models.Index(fields=["provider_ref"], name="message_provider_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.message_id}"


class OptOut(models.Model):
    """An address that asked for no more messages on a channel (退订); never sent to."""

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=200)
    at = models.DateTimeField(_("unsubscribed at"))
    source = models.CharField(_("how"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("unsubscribed address")
        verbose_name_plural = _("unsubscribed addresses")
        constraints = [models.UniqueConstraint(fields=["channel", "address"], name="optout_once")]

    def __str__(self) -> str:
        return f"{self.channel} …{self.address[-4:]}"


class InboundChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    WEIBO = "weibo", _("Weibo")
    ALIPAY = "alipay", _("Alipay life account")


class InboundKind(models.TextChoices):
    MESSAGE = "message", _("Private message")
    MENTION = "mention", _("Mention")


class Handling(models.TextChoices):
    OPTOUT = "optout", _("Unsubscribed")
    SURVEY = "survey", _("Callback answer")
    CONTACT = "contact", _("For an agent")


class Inbound(models.Model):
    """A message from the public that arrived through a gateway (an SMS reply, a Weibo
    private message or mention, a message to the Alipay life account), recorded once per
    the gateway's message id: an unsubscribe, a callback's answer, or a contact an agent
    reads and answers in the messages inbox."""

    channel = models.CharField(_("channel"), max_length=10, choices=InboundChannel.choices)
    provider_id = models.CharField(_("gateway message id"), max_length=80)
    sender = models.CharField(_("from"), max_length=200)
    sender_name = models.CharField(_("sender's name"), max_length=100, blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=InboundKind.choices, default=InboundKind.MESSAGE
    )
    text = models.TextField(_("text"))
    received_at = models.DateTimeField(_("received"))
    handled_as = models.CharField(_("handled as"), max_length=10, choices=Handling.choices)
    callback = models.ForeignKey(
        "surveys.CallbackTask",
        verbose_name=_("callback"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    contact = models.ForeignKey(
        "tickets.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "provider_id"], name="inbound_once")
        ]
        indexes = [
            models.Index(fields=["handled_as", "answered_at"], name="inbound_to_answer"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.provider_id}"


class PollCursor(models.Model):
    """How far the poller read one feed of a platform (`messaging.poller`): the newest
    message id taken, so the next poll asks only for what came after it."""

    feed = models.CharField(_("feed"), max_length=40, unique=True)
    cursor = models.CharField(_("cursor"), max_length=80, blank=True)
    polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    taken = models.PositiveIntegerField(_("messages taken"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("poll cursor")
        verbose_name_plural = _("poll cursors")

    def __str__(self) -> str:
        return f"{self.feed} {self.cursor}"
