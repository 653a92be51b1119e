"""Meter readings, bills with their lines, payments, electronic invoices and paper
copies."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qingquan.customers.models.accounts import Account, Meter
from qingquan.customers.models.registry import ZERO_MONEY


class ReadingSource(models.TextChoices):
    MANUAL = "manual", _("Meter reader")
    REMOTE = "remote", _("Remote reading")
    CUSTOMER = "customer", pgettext_lazy("reading source", "Customer")
    ESTIMATED = "estimated", _("Estimated")
    FINAL = "final", _("Final (meter removed)")


class MeterReadingQuerySet(models.QuerySet["MeterReading"]):
    def valid(self) -> MeterReadingQuerySet:
        """Readings bills may use: flagged ones wait for a person to check them."""
        return self.filter(flagged=False)


class MeterReading(models.Model):
    """A meter's index on a day. Suspicious readings are kept, flagged, and not billed."""

    meter = models.ForeignKey(
        Meter, verbose_name=_("meter"), on_delete=models.PROTECT, related_name="readings"
    )
    read_on = models.DateField(_("read on"))
    value = models.DecimalField(_("value (m³)"), max_digits=12, decimal_places=3)
    source = models.CharField(
        _("source"), max_length=12, choices=ReadingSource.choices, default=ReadingSource.MANUAL
    )
    flagged = models.BooleanField(_("flagged"), default=False)
    flag_reason = models.CharField(_("flag reason"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    objects = MeterReadingQuerySet.as_manager()

    class Meta:
        verbose_name = _("meter reading")
        verbose_name_plural = _("meter readings")
        ordering = ["meter", "read_on", "pk"]
        indexes = [models.Index(fields=["meter", "read_on"], name="reading_meter_day")]

    def __str__(self) -> str:
        return f"{self.meter} {self.read_on}: {self.value}"


# Bills -----------------------------------------------------------------------------------
class BillStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", pgettext_lazy("bill status", "Cancelled")


class BillQuerySet(models.QuerySet["Bill"]):
    def open(self) -> BillQuerySet:
        """Bills with something left to pay."""
        return self.filter(status__in=[BillStatus.UNPAID, BillStatus.PARTIALLY_PAID])

    def not_cancelled(self) -> BillQuerySet:
        return self.exclude(status=BillStatus.CANCELLED)

    def with_paid(self) -> BillQuerySet:
        """Annotate `paid_sum` (net of reversals) with a subquery, so it combines with
        other aggregates and window functions without multiplying rows."""
        paid = (
            Payment.objects.filter(bill=models.OuterRef("pk"))
            .order_by()
            .values("bill")
            .annotate(s=Sum("amount"))
            .values("s")
        )
        return self.annotate(
            paid_sum=Coalesce(
                models.Subquery(paid),
                Decimal("0.00"),
                output_field=models.DecimalField(max_digits=12, decimal_places=2),
            )
        )


class Bill(models.Model):
    """A water bill of an account for a period (both ends inclusive), priced by tier.

    `previous_reading`/`current_reading` are those of the meter installed at the end of the
    period; when a meter was replaced the volume also counts the old meter's last part.
    `tier_reached` is the highest tier any of this bill's m³ fell into ("why so high").
    """

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="bills"
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    previous_reading = models.DecimalField(_("previous reading"), max_digits=12, decimal_places=3)
    current_reading = models.DecimalField(_("current reading"), max_digits=12, decimal_places=3)
    volume = models.DecimalField(_("volume (m³)"), max_digits=12, decimal_places=3)
    water_amount = models.DecimalField(_("water charge"), max_digits=12, decimal_places=2)
    sewage_amount = models.DecimalField(_("sewage fee"), max_digits=12, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    tier_reached = models.PositiveSmallIntegerField(_("highest tier reached"), default=1)
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=16, choices=BillStatus.choices, default=BillStatus.UNPAID
    )
    issued_at = models.DateTimeField(_("issued at"))

    objects = BillQuerySet.as_manager()

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["-period_end", "-pk"]
        indexes = [models.Index(fields=["account", "-period_end"], name="bill_account_period")]
        constraints = [
            models.CheckConstraint(condition=Q(volume__gte=0), name="bill_volume_not_negative"),
            models.CheckConstraint(condition=Q(total__gte=0), name="bill_total_not_negative"),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="bill_period_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}:{self.period_start:%Y-%m}"

    @property
    def paid(self) -> Decimal:
        if hasattr(self, "paid_sum"):
            paid = Decimal(self.paid_sum)
        else:
            paid = self.payments.aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
        # SQLite sums decimals as floats: back to fen.
        return paid.quantize(Decimal("0.01"))

    @property
    def outstanding(self) -> Decimal:
        if self.status == BillStatus.CANCELLED:
            return Decimal("0.00")
        return max(self.total - self.paid, Decimal("0.00"))

    def status_for(self, paid: Decimal) -> str:
        """The status a bill has once `paid` has been paid on it."""
        if self.status == BillStatus.CANCELLED:
            return BillStatus.CANCELLED
        if paid <= 0:
            return BillStatus.UNPAID if self.total > 0 else BillStatus.PAID
        if paid >= self.total:
            return BillStatus.PAID
        return BillStatus.PARTIALLY_PAID


class BillLineKind(models.TextChoices):
    WATER = "water", _("Water")
    SEWAGE = "sewage", _("Sewage treatment")


class BillLine(models.Model):
    """One priced part of a bill: m³ in a tier at a price (or the sewage fee on them)."""

    bill = models.ForeignKey(
        Bill, verbose_name=_("bill"), on_delete=models.CASCADE, related_name="lines"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=BillLineKind.choices)
    tier = models.PositiveSmallIntegerField(_("tier"), null=True, blank=True)
    start = models.DateField(pgettext_lazy("period", "from"))
    end = models.DateField(pgettext_lazy("period", "to"))
    volume = models.DecimalField(_("volume (m³)"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=8, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        ordering = ["bill", "kind", "start", "tier", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.volume} × {self.unit_price}"


# Payments and invoices -------------------------------------------------------------------
class PaymentChannel(models.TextChoices):
    COUNTER = "counter", _("Counter")
    BANK = "bank", _("Bank")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class Payment(models.Model):
    """Money received for a bill. A reversal is a new row with the opposite amount pointing
    at the payment it reverses; payments are never edited or deleted."""

    bill = models.ForeignKey(
        Bill, verbose_name=_("bill"), on_delete=models.PROTECT, related_name="payments"
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    channel = models.CharField(_("channel"), max_length=10, choices=PaymentChannel.choices)
    paid_at = models.DateTimeField(_("paid at"))
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_at", "-pk"]
        # A reference is recorded once per channel (payment_record's check, a provider's
        # notify, a refund finding its payments): found by index among a city's millions.
        indexes = [models.Index(fields=["reference", "channel"], name="payment_reference")]

    def __str__(self) -> str:
        return f"{self.amount} {self.get_channel_display()}"

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


class Invoice(models.Model):
    """The electronic invoice (电子发票) of a paid bill, with what it said when issued.

    The PDF is rendered on demand from these fields, so it is always the same document.
    """

    bill = models.OneToOneField(
        Bill, verbose_name=_("bill"), on_delete=models.PROTECT, related_name="invoice"
    )
    number = models.CharField(_("invoice number"), max_length=20, unique=True)
    verification_code = models.CharField(_("verification code"), max_length=20)
    payer_name = models.CharField(_("payer"), max_length=120)
    payer_tax_id = models.CharField(_("payer tax ID"), max_length=18, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    issued_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class PaperInvoiceStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    DISPATCHED = "dispatched", pgettext_lazy("paper invoice", "Dispatched")
    DELIVERED = "delivered", _("Delivered")


class PaperInvoiceRequest(models.Model):
    """A request to post a paper copy of an invoice; free of charge for organisations."""

    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="paper_requests",
    )
    recipient = models.CharField(_("recipient"), max_length=60)
    phone = models.CharField(_("phone"), max_length=20)
    address = models.CharField(_("postal address"), max_length=255)
    fee = models.DecimalField(_("courier fee"), max_digits=12, decimal_places=2, default=ZERO_MONEY)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=PaperInvoiceStatus.choices,
        default=PaperInvoiceStatus.REQUESTED,
    )
    tracking_no = models.CharField(_("tracking number"), max_length=40, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("paper invoice request")
        verbose_name_plural = _("paper invoice requests")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        from qingquan.customers.privacy import Kind, mask

        return f"{self.invoice} → {mask(self.recipient, Kind.NAME)}"
