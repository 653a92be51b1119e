"""Districts, streets and communities: how addresses, KPIs and notices are grouped."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class District(models.Model):
    """A district or county-level city (区/县/市), e.g. 海曙区."""

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=40, unique=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Street(models.Model):
    """A sub-district or town (街道/镇) inside a district."""

    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="streets"
    )
    name = models.CharField(_("name"), max_length=40)

    class Meta:
        verbose_name = _("street")
        verbose_name_plural = _("streets")
        ordering = ["district__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["district", "name"], name="street_unique_in_district")
        ]

    def __str__(self) -> str:
        return f"{self.district.name}{self.name}"


class Community(models.Model):
    """A residential community (社区/村) inside a street."""

    street = models.ForeignKey(
        Street, verbose_name=_("street"), on_delete=models.PROTECT, related_name="communities"
    )
    name = models.CharField(_("name"), max_length=40)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["street__district__code", "street__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="community_unique_in_street")
        ]

    def __str__(self) -> str:
        return f"{self.street}{self.name}"
