"""The customer registry and water bills.

A customer (person or organisation) holds accounts (户号); an account supplies one premise
through meters whose readings are billed by a tariff. Payments settle bills; paid bills get
electronic invoices, and paper copies on request. Money has 2 decimal places, volumes 3.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qingquan.core import validation
from qingquan.customers import ids, phones

ZERO_MONEY = Decimal("0.00")


# Customers -------------------------------------------------------------------------------
class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    ORGANISATION = "organisation", _("Organisation")


class CriticalKind(models.TextChoices):
    """Customers a supply interruption endangers: isolation plans list them first."""

    HOSPITAL = "hospital", _("Hospital")
    SCHOOL = "school", _("School")
    CARE_HOME = "care_home", _("Care home")
    ELDERLY = "elderly", _("Registered elderly customer")
    DIALYSIS = "dialysis", _("Home dialysis")
    INDUSTRIAL = "industrial", _("Large industrial user")


class Customer(models.Model):
    """A person or organisation the utility supplies (用户).

    An organisation must carry its unified social credit code; a person may give an ID
    number. `elderly_or_impaired` offers extended services (R-INTAKE-6); `sensitive` warns
    agents (a journalist, a repeated complainant, a VIP) without saying why on screen.
    `critical_kind` marks a customer an interruption endangers (a hospital, a home-dialysis
    patient…): set in the admin, listed first in the pipe network's isolation plans.
    """

    kind = models.CharField(
        _("kind"), max_length=20, choices=CustomerKind.choices, default=CustomerKind.PERSON
    )
    name = models.CharField(_("name"), max_length=120, db_index=True)
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    id_number = models.CharField(_("resident ID number"), max_length=18, blank=True)
    elderly_or_impaired = models.BooleanField(_("elderly or impaired"), default=False)
    sensitive = models.BooleanField(_("sensitive"), default=False)
    critical_kind = models.CharField(
        _("critical customer"), max_length=12, choices=CriticalKind.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    legacy_ref = models.CharField(
        _("reference in the previous system"), max_length=40, blank=True, db_index=True
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["uscc"], condition=~Q(uscc=""), name="customer_uscc_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_organisation(self) -> bool:
        return self.kind == CustomerKind.ORGANISATION

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        # The platform's input rules (core.validation): refused, never cut.
        for field, limit, multiline in (("name", 120, False), ("note", validation.TEXT, True)):
            try:
                value = validation.clean_text(
                    getattr(self, field), field=field, max_length=limit, multiline=multiline
                )
            except ValidationError as error:
                errors[field] = error.messages
            else:
                setattr(self, field, value)
        if self.kind == CustomerKind.ORGANISATION:
            if not self.uscc:
                errors["uscc"] = _("An organisation needs its unified social credit code.")
            if self.id_number:
                errors["id_number"] = _("An organisation has no resident ID number.")
        elif self.uscc:
            errors["uscc"] = _("Only organisations have a unified social credit code.")
        if self.uscc and "uscc" not in errors:
            try:
                self.uscc = ids.clean_uscc(self.uscc)
            except ValidationError as exc:
                errors["uscc"] = exc.messages
        if self.id_number and "id_number" not in errors:
            try:
                self.id_number = ids.clean_ric(self.id_number)
            except ValidationError as exc:
                errors["id_number"] = exc.messages
        if errors:
            raise ValidationError(errors)


class PhoneLabel(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    HOME = "home", pgettext_lazy("phone label", "Home")
    WORK = "work", _("Work")
    OTHER = "other", _("Other")


class CustomerPhone(models.Model):
    """One of a customer's phone numbers, normalised so a caller's number finds them."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="phones"
    )
    number = models.CharField(_("number (E.164)"), max_length=20)
    national_digits = models.CharField(_("national digits"), max_length=20, db_index=True)
    label = models.CharField(
        _("label"), max_length=10, choices=PhoneLabel.choices, default=PhoneLabel.MOBILE
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("customer phone")
        verbose_name_plural = _("customer phones")
        ordering = ["-is_primary", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "number"], name="customer_phone_unique_per_customer"
            )
        ]

    def __str__(self) -> str:
        # Masked: a record's name reaches admin titles, history and the audit log.
        return phones.mask(self.national_digits)

    def clean(self) -> None:
        try:
            self.number, self.national_digits = phones.normalise(self.number)
        except ValidationError as exc:
            raise ValidationError({"number": exc.messages}) from exc

    @property
    def masked(self) -> str:
        return phones.mask(self.national_digits)


# Premises and accounts -------------------------------------------------------------------
class Premise(models.Model):
    """A supplied place: an address down to the room, placed on the map.

    `address` is the full address string, kept in step with its parts by `compose_address`
    and searched by the lookup; `network_node` will tie it to the pipe network later.
    """

    district = models.ForeignKey(
        "areas.District", verbose_name=_("district"), on_delete=models.PROTECT
    )
    street = models.ForeignKey(
        "areas.Street", verbose_name=_("street"), on_delete=models.PROTECT, null=True, blank=True
    )
    community = models.ForeignKey(
        "areas.Community",
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    road = models.CharField(_("road and number"), max_length=80, blank=True)
    building = models.CharField(_("building"), max_length=20, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    room = models.CharField(_("room"), max_length=20, blank=True)
    address = models.CharField(_("full address"), max_length=255, db_index=True, editable=False)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    # NULL, not "": "not yet tied to the network" must differ from any node id, and the
    # network issue will add a unique-per-node index that must ignore untied premises.
    legacy_ref = models.CharField(
        _("reference in the previous system"), max_length=40, blank=True, db_index=True
    )
    network_node = models.CharField(  # noqa: DJ001
        _("network node"), max_length=40, null=True, blank=True
    )

    class Meta:
        verbose_name = _("premise")
        verbose_name_plural = _("premises")
        ordering = ["address", "pk"]

    def __str__(self) -> str:
        return self.address

    def compose_address(self) -> str:
        """The full address: 宁波市海曙区南门街道江南社区解放南路12号3幢2单元501室."""
        parts = ["宁波市", self.district.name if self.district_id else ""]
        if self.street_id:
            parts.append(self.street.name)  # type: ignore[union-attr]
        if self.community_id:
            parts.append(self.community.name)  # type: ignore[union-attr]
        parts.append(self.road)
        if self.building:
            parts.append(f"{self.building}幢")
        if self.unit:
            parts.append(f"{self.unit}单元")
        if self.room:
            parts.append(f"{self.room}室")
        return "".join(parts)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.street_id and self.district_id and self.street.district_id != self.district_id:  # type: ignore[union-attr]
            errors["street"] = _("The street is not in the chosen district.")
        if self.community_id and self.community.street_id != self.street_id:  # type: ignore[union-attr]
            errors["community"] = _("The community is not in the chosen street.")
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            errors["latitude"] = _("Latitude must be between -90 and 90.")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            errors["longitude"] = _("Longitude must be between -180 and 180.")
        if errors:
            raise ValidationError(errors)
        if self.district_id:
            self.address = self.compose_address()


class AccountKind(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    NON_RESIDENTIAL = "non_residential", _("Non-residential")
    SPECIAL = "special", _("Special")


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", pgettext_lazy("account status", "Closed")


class Tariff(models.Model):
    """A water price for a kind of account (居民生活用水, 非居民用水, 特种用水).

    The prices themselves are `TariffTier` rows, each valid from one date to another, so a
    price change is new rows, and a bill spanning it is priced on both sides. Residential
    tiers count the ANNUAL volume of the calendar year; households larger than
    `base_household_size` get each tier bound raised by the tier's `extra_per_person`.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("account kind"), max_length=20, choices=AccountKind.choices)
    base_household_size = models.PositiveSmallIntegerField(
        _("base household size"),
        default=4,
        help_text=_("Tier bounds grow for each person above this."),
    )

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def tiers_on(self, day: dt.date) -> list[TariffTier]:
        """The tiers in force on `day`, lowest first."""
        return list(self.tiers.in_force(day).order_by("number"))


class TariffTierQuerySet(models.QuerySet["TariffTier"]):
    def in_force(self, day: dt.date) -> TariffTierQuerySet:
        return self.filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=day), effective_from__lte=day
        )


class TariffTier(models.Model):
    """One step of a tariff's price, valid from `effective_from` to `effective_to` inclusive.

    `upper_m3` is the annual volume up to which this tier's price applies (empty for the
    last tier, and for flat tariffs which have a single tier). `price` is per m³ of water;
    `sewage_fee` per m³ is charged on every m³ on top.
    """

    tariff = models.ForeignKey(
        Tariff, verbose_name=_("tariff"), on_delete=models.CASCADE, related_name="tiers"
    )
    number = models.PositiveSmallIntegerField(_("tier"))
    upper_m3 = models.DecimalField(
        _("annual upper bound (m³)"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    extra_per_person_m3 = models.DecimalField(
        _("extra m³ per additional person"),
        max_digits=12,
        decimal_places=3,
        default=Decimal("0.000"),
    )
    price = models.DecimalField(_("price per m³"), max_digits=8, decimal_places=2)
    sewage_fee = models.DecimalField(_("sewage fee per m³"), max_digits=8, decimal_places=2)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)

    objects = TariffTierQuerySet.as_manager()

    class Meta:
        verbose_name = _("tariff tier")
        verbose_name_plural = _("tariff tiers")
        ordering = ["tariff", "effective_from", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tariff", "effective_from", "number"], name="tariff_tier_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tariff} #{self.number} ({self.effective_from})"

    def bound_for(self, household_size: int) -> Decimal | None:
        """The annual upper bound for a household of `household_size` people."""
        if self.upper_m3 is None:
            return None
        extra = max(0, household_size - self.tariff.base_household_size)
        return self.upper_m3 + self.extra_per_person_m3 * extra

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.effective_to and self.effective_to < self.effective_from:
            errors["effective_to"] = _("The end date is before the start date.")
        if self.price is not None and self.price < 0:
            errors["price"] = _("A price cannot be negative.")
        if self.sewage_fee is not None and self.sewage_fee < 0:
            errors["sewage_fee"] = _("A fee cannot be negative.")
        if self.upper_m3 is not None and self.upper_m3 <= 0:
            errors["upper_m3"] = _("The bound must be positive.")
        if errors:
            raise ValidationError(errors)


class AccountQuerySet(models.QuerySet["Account"]):
    def active(self) -> AccountQuerySet:
        return self.filter(status=AccountStatus.ACTIVE)


class Account(models.Model):
    """A supply account (户号): who pays for the water at which premise, at which tariff."""

    number = models.CharField(_("account number"), max_length=20, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="accounts"
    )
    premise = models.ForeignKey(
        Premise, verbose_name=_("premise"), on_delete=models.PROTECT, related_name="accounts"
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=AccountKind.choices, default=AccountKind.RESIDENTIAL
    )
    tariff = models.ForeignKey(
        Tariff, verbose_name=_("tariff"), on_delete=models.PROTECT, related_name="accounts"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    household_size = models.PositiveSmallIntegerField(_("household size"), default=3)
    opened_on = models.DateField(_("opened on"))

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        self.number = (self.number or "").strip()
        if not self.number.isdigit():
            errors["number"] = _("An account number is digits only.")
        if self.tariff_id and self.tariff.kind != self.kind:
            errors["tariff"] = _("The tariff is for another kind of account.")
        if not self.household_size or self.household_size < 1:
            errors["household_size"] = _("A household has at least one person.")
        if errors:
            raise ValidationError(errors)

    def balance(self) -> Decimal:
        """What the account owes now: unpaid parts of its bills that are not cancelled."""
        owed = Decimal("0.00")
        for bill in self.bills.open():
            owed += bill.outstanding
        return owed


# Meters ----------------------------------------------------------------------------------
class MeterQuerySet(models.QuerySet["Meter"]):
    def installed(self) -> MeterQuerySet:
        return self.filter(removed_on__isnull=True)

    def active_between(self, start: dt.date, end: dt.date) -> MeterQuerySet:
        return self.filter(
            Q(removed_on__isnull=True) | Q(removed_on__gte=start), installed_on__lte=end
        )


class Meter(models.Model):
    """A water meter on an account, from installation to removal (one installed at a time)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="meters"
    )
    serial = models.CharField(_("serial number"), max_length=30, unique=True)
    size_mm = models.PositiveSmallIntegerField(_("size (mm)"), default=15)
    installed_on = models.DateField(_("installed on"))
    initial_reading = models.DecimalField(
        _("initial reading"), max_digits=12, decimal_places=3, default=Decimal("0.000")
    )
    removed_on = models.DateField(_("removed on"), null=True, blank=True)

    objects = MeterQuerySet.as_manager()

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        ordering = ["account", "installed_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(removed_on__isnull=True),
                name="meter_one_installed_per_account",
            )
        ]

    def __str__(self) -> str:
        return self.serial

    def clean(self) -> None:
        if self.removed_on and self.removed_on < self.installed_on:
            raise ValidationError(
                {"removed_on": _("A meter cannot be removed before it is installed.")}
            )
        if self.initial_reading is not None and self.initial_reading < 0:
            raise ValidationError({"initial_reading": _("A reading cannot be negative.")})


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


# Who was shown what ------------------------------------------------------------------------
class PersonalKind(models.TextChoices):
    """The kinds of personal data `customers.privacy.shown` masks by role."""

    PHONE = "phone", _("Phone number")
    EMAIL = "email", _("E-mail address")
    ID_NUMBER = "id_number", _("ID number")
    NAME = "name", _("Name")


class Disclosure(models.Model):
    """One time a staff member was shown a customer's full phone number, e-mail address or
    ID number (written by `customers.privacy.shown`; administrators read it in the admin).

    The record names the value by its masked form and the record it belongs to, so the log
    itself holds no full number."""

    at = models.DateTimeField(_("when"), db_index=True)
    user = models.ForeignKey(
        "staff.User", verbose_name=_("who"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("what"), max_length=10, choices=PersonalKind.choices)
    masked = models.CharField(_("value (masked)"), max_length=120)
    object_type = models.CharField(_("record type"), max_length=60, blank=True)
    object_id = models.CharField(_("record id"), max_length=40, blank=True)
    where = models.CharField(_("where"), max_length=200)

    class Meta:
        verbose_name = _("personal data disclosure")
        verbose_name_plural = _("personal data disclosures")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.kind} {self.masked}"
