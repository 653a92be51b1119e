"""Tariffs with their tiers, accounts and meters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from qingquan.customers.models.registry import Customer, Premise


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
