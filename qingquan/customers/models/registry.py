"""Customers, their phones and their premises."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
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
