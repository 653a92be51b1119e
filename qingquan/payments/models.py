"""Online payment orders: one order pays one or more bills of a resident's accounts; the
provider's notify marks it paid once (unique out_trade_no, one payment row per bill)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from qingquan.customers.models import PaperInvoiceStatus


class Provider(models.TextChoices):
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class OrderStatus(models.TextChoices):
    CREATED = "created", _("Waiting for payment")
    PAID = "paid", _("Paid")
    CLOSED = "closed", _("Closed")
    REFUNDED = "refunded", _("Refunded")


class PaymentOrder(models.Model):
    """What a resident asked to pay, and what the provider said about it."""

    out_trade_no = models.CharField(_("order number"), max_length=32, unique=True)
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    resident = models.ForeignKey(
        "portal.Resident",
        verbose_name=_("resident"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment_orders",
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.CREATED
    )
    created_at = models.DateTimeField(_("created"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    transaction_id = models.CharField(_("provider's transaction"), max_length=64, blank=True)
    notifies = models.PositiveIntegerField(_("notifies received"), default=0)
    code_url = models.CharField(_("QR code link"), max_length=300, blank=True)
    trade_type = models.CharField(_("trade type"), max_length=8, default="native")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shown by agent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("payment order")
        verbose_name_plural = _("payment orders")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="order_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.out_trade_no

    @property
    def amount_fen(self) -> int:
        return int(self.amount * 100)


class OrderBill(models.Model):
    """One bill an order pays, with the amount owed on it when the order was made."""

    order = models.ForeignKey(
        PaymentOrder, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines"
    )
    bill = models.ForeignKey(
        "customers.Bill", verbose_name=_("bill"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("bill of an order")
        verbose_name_plural = _("bills of orders")
        constraints = [
            models.UniqueConstraint(fields=["order", "bill"], name="order_bill_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.bill_id}"


class NotifyLog(models.Model):
    """Every notify callback received, verified or not (for support and reconciliation)."""

    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    received_at = models.DateTimeField(_("received"))
    verified = models.BooleanField(_("signature valid"))
    out_trade_no = models.CharField(_("order number"), max_length=32, blank=True)
    outcome = models.CharField(_("outcome"), max_length=40)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("payment notify")
        verbose_name_plural = _("payment notifies")
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.provider} {self.out_trade_no} {self.outcome}"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for approval")
    REJECTED = "rejected", _("Rejected")
    PROCESSING = "processing", _("Sent to the provider")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Refund failed")


class Refund(models.Model):
    """Money given back on a paid order: asked by the back office with a reason, approved
    by a supervisor who did not ask for it, then sent to the provider (whose notify says
    when it is done)."""

    out_refund_no = models.CharField(_("refund number"), max_length=32, unique=True)
    order = models.ForeignKey(
        PaymentOrder, verbose_name=_("order"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    refund_id = models.CharField(_("provider's refund"), max_length=64, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    notifies = models.PositiveIntegerField(_("notifies received"), default=0)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.out_refund_no

    @property
    def amount_fen(self) -> int:
        return int(self.amount * 100)


class DifferenceKind(models.TextChoices):
    MISSING_OURS = "missing_ours", _("Missing on our side")
    MISSING_THEIRS = "missing_theirs", _("Missing in the provider's statement")
    AMOUNT = "amount", _("Amounts differ")


class Reconciliation(models.Model):
    """One run of a day's reconciliation of a provider's statement against our orders
    and refunds (kept with the statement as received)."""

    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    day = models.DateField(_("day"))
    ran_at = models.DateTimeField(_("ran at"))
    ours_count = models.PositiveIntegerField(_("our rows"))
    ours_total = models.DecimalField(_("our net total"), max_digits=14, decimal_places=2)
    theirs_count = models.PositiveIntegerField(_("statement rows"))
    theirs_total = models.DecimalField(_("statement net total"), max_digits=14, decimal_places=2)
    statement = models.TextField(_("statement file"))

    class Meta:
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        ordering = ["-day", "-ran_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.provider} {self.day}"


class Difference(models.Model):
    """A row the statement and our records disagree on."""

    reconciliation = models.ForeignKey(
        Reconciliation,
        verbose_name=_("reconciliation"),
        on_delete=models.CASCADE,
        related_name="differences",
    )
    kind = models.CharField(_("difference"), max_length=16, choices=DifferenceKind.choices)
    out_trade_no = models.CharField(_("order number"), max_length=32)
    out_refund_no = models.CharField(_("refund number"), max_length=32, blank=True)
    transaction_id = models.CharField(_("provider's transaction"), max_length=64, blank=True)
    ours = models.DecimalField(_("our amount"), max_digits=12, decimal_places=2, null=True)
    theirs = models.DecimalField(_("their amount"), max_digits=12, decimal_places=2, null=True)

    class Meta:
        verbose_name = _("reconciliation difference")
        verbose_name_plural = _("reconciliation differences")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.out_trade_no}"


class SandboxTrade(models.Model):
    """The sandbox provider's own ledger (what it charged and refunded): its statement
    files are written from these rows, never from our orders."""

    provider = models.CharField(max_length=10, choices=Provider.choices)
    kind = models.CharField(max_length=6)  # "pay" or "refund"
    out_trade_no = models.CharField(max_length=32)
    out_refund_no = models.CharField(max_length=32, blank=True)
    transaction_id = models.CharField(max_length=64)
    refund_id = models.CharField(max_length=64, blank=True)
    amount_fen = models.PositiveIntegerField()
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("sandbox trade")
        verbose_name_plural = _("sandbox trades")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "kind", "out_trade_no", "out_refund_no"], name="sandbox_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} {self.out_trade_no}"


class PaperDelivery(models.Model):
    """A resident's request for the paper invoices of paid bills by courier, one parcel
    (one customers.PaperInvoiceRequest per invoice); the back office records the courier
    and the tracking number."""

    resident = models.ForeignKey(
        "portal.Resident",
        verbose_name=_("resident"),
        on_delete=models.PROTECT,
        related_name="paper_deliveries",
    )
    requests = models.ManyToManyField(
        "customers.PaperInvoiceRequest", verbose_name=_("invoices"), related_name="+"
    )
    recipient = models.CharField(_("recipient"), max_length=60)
    phone = models.CharField(_("phone"), max_length=20)
    address = models.CharField(_("postal address"), max_length=255)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=PaperInvoiceStatus.choices,
        default=PaperInvoiceStatus.REQUESTED,
    )
    courier = models.CharField(_("courier"), max_length=40, blank=True)
    tracking_no = models.CharField(_("tracking number"), max_length=40, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("paper invoice parcel")
        verbose_name_plural = _("paper invoice parcels")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.pk} {self.status}"
