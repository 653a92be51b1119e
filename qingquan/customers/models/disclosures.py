"""Disclosures: who was shown a customer's personal data in full, and why."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
