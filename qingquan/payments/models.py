"""Online payment orders: one order pays one or more bills of a resident's accounts; the
provider's notify marks it paid once (unique out_trade_no, one payment row per bill)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
