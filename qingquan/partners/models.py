"""Partner systems and what they exchange with the platform.

A `PartnerClient` is one outside system (the provincial service platform 浙里办, the
WeChat or Alipay mini-program, the city 12345 hotline…). It authenticates with
`ApiKey`s (only a SHA-256 of each key is stored), creates cases that are remembered as
`PartnerCase`s (its external id is unique per client), replays retried creations from
`IdempotencyRecord`s, and hears about its cases through webhook `Subscription`s whose
`Delivery` rows form the outbox.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingquan.tickets.models import Channel


class Scope(models.TextChoices):
    """What a client's keys may do."""

    CASES_READ = "cases:read", _("Read its cases")
    CASES_WRITE = "cases:write", _("Create cases and add to them")
    CUSTOMERS_READ = "customers:read", _("Verify a customer (limited)")
    BILLS_READ = "bills:read", _("Read a verified account's bills")
    OPEN311 = "open311", _("Submit Open311 service requests")
    CONNECTIONS = "connections", _("Apply for new connections and follow them")


class WebhookEvent(models.TextChoices):
    CREATED = "case.created", _("Case created")
    STATUS_CHANGED = "case.status_changed", _("Case status changed")
    RESOLVED = "case.resolved", _("Case resolved")
    CALLBACK_DONE = "case.callback_done", _("Callback done")
    # New connections (报装) received from the client (the provincial platform, R-CH-2).
    CONNECTION_RECEIVED = "connection.received", _("Connection application received")
    CONNECTION_STEP = "connection.step_changed", _("Connection step changed")
    CONNECTION_DONE = "connection.completed", _("Connection completed")
    CONNECTION_CANCELLED = "connection.cancelled", _("Connection application cancelled")


class PartnerClient(models.Model):
    """An outside system allowed to use the open APIs.

    Cases it creates are owned by `intake_owner` (the integration inbox owner, an agent
    or supervisor account) until a supervisor gives them to an agent (首问责任制).
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    channel = models.CharField(
        _("channel"),
        max_length=20,
        choices=Channel.choices,
        help_text=_("The channel recorded on the cases and contacts this client creates."),
    )
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    intake_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("integration inbox owner"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "The staff member who owns cases from this client until a supervisor "
            "re-assigns them (must be allowed to open cases)."
        ),
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute per key"), default=120
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("partner client")
        verbose_name_plural = _("partner clients")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


KEY_PREFIX = "qq"


def hash_key(token: str) -> str:
    """The stored form of an API key or of a request body: hex SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_key_material() -> tuple[str, str]:
    """A fresh (prefix, plaintext key) pair: ``qq_<prefix>_<secret>``."""
    prefix = secrets.token_hex(4)
    return prefix, f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


class ApiKey(models.Model):
    """One API key of a client. The plaintext is shown once; only its hash is kept."""

    client = models.ForeignKey(
        PartnerClient, verbose_name=_("client"), on_delete=models.CASCADE, related_name="keys"
    )
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    label = models.CharField(_("label"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{KEY_PREFIX}_{self.prefix}_…"


class RateWindow(models.Model):
    """Requests made with one key in one fixed one-minute window."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    window = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="rate_window_unique")]

    def __str__(self) -> str:
        return f"{self.key_id}@{self.window}: {self.count}"


class IdempotencyRecord(models.Model):
    """A create request already answered: a retry with the same key gets the same answer."""

    client = models.ForeignKey(PartnerClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("idempotency key"), max_length=200)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status"), default=0)
    response = models.JSONField(_("response"), default=dict)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_key")
        ]

    def __str__(self) -> str:
        return self.key


class PartnerCase(models.Model):
    """A case that came in through a partner client, with its id in the partner's system."""

    class Source(models.TextChoices):
        API = "api", _("Partner REST API")
        OPEN311 = "open311", _("Open311")

    client = models.ForeignKey(
        PartnerClient, verbose_name=_("client"), on_delete=models.PROTECT, related_name="cases"
    )
    ticket = models.OneToOneField(
        "tickets.Ticket", verbose_name=_("case"), on_delete=models.PROTECT, related_name="partner"
    )
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    token = models.CharField(_("token"), max_length=32, unique=True, editable=False)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    address_id = models.CharField(_("address id"), max_length=100, blank=True)
    media_url = models.URLField(_("media URL"), max_length=500, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # What an Open311 submitter chose to publish (the public request list shows these and
    # nothing else), apart from the private details the case keeps for staff: name and
    # phone on the case, e-mail address here, account number in `attributes`.
    public_description = models.TextField(_("public description"), blank=True)
    public_address = models.CharField(_("public address"), max_length=255, blank=True)
    submitter_email = models.EmailField(_("submitter's e-mail address"), blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("partner case")
        verbose_name_plural = _("partner cases")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_id"],
                condition=~models.Q(external_id=""),
                name="partner_case_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client.code}:{self.external_id or self.ticket_id}"

    @staticmethod
    def new_token() -> str:
        return uuid.uuid4().hex


class Subscription(models.Model):
    """A partner's webhook: events of its own cases are POSTed, signed, to `url`."""

    client = models.ForeignKey(
        PartnerClient,
        verbose_name=_("client"),
        on_delete=models.CASCADE,
        related_name="subscriptions",
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=80,
        help_text=_("HMAC-SHA256 key shared with the receiver; generated when left empty."),
        blank=True,
    )
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["client__code", "id"]

    def __str__(self) -> str:
        return f"{self.client.code} → {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One webhook message in the outbox, retried with exponential backoff until delivered.

    Written in the same transaction as the case change it reports; sent by the outbox
    dispatcher of `qingquan.core.outbox` (claimed with a lease, see docs/architecture.md).
    `delivery_id` is stable across attempts so a receiver can drop a repeat.
    """

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True)
    event = models.CharField(_("event"), max_length=40, choices=WebhookEvent.choices)
    # The case's timeline entry (`TicketEvent`), or for connection events the
    # application's (`connections.Entry`, with `ticket` empty).
    source_event_id = models.BigIntegerField(_("case timeline entry"))
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("case"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True)
    # While sending, the claiming worker's heartbeat keeps pushing this forward; past it,
    # the worker is presumed dead and any other worker may take the row over.
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"))
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "source_event_id", "event"], name="delivery_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class DeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery (the delivery log)."""

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="log"
    )
    at = models.DateTimeField(_("time"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
