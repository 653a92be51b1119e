"""The portal's own people and sessions: a resident is a verified phone number (no staff
user, no password); codes and session keys are stored as SHA-256 digests only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Resident(models.Model):
    """Someone who logged in to the online service hall with a phone number."""

    phone = models.CharField(_("phone (E.164)"), max_length=20, unique=True)
    created_at = models.DateTimeField(_("first login"))
    last_login_at = models.DateTimeField(_("last login"), null=True, blank=True)
    elder_mode = models.BooleanField(_("elder-friendly mode"), default=False)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")

    def __str__(self) -> str:
        return f"…{self.phone[-4:]}"


class LoginCode(models.Model):
    """A one-time code sent by SMS: valid a few minutes, a few tries, used once."""

    phone = models.CharField(_("phone (E.164)"), max_length=20)
    code_hash = models.CharField(_("code digest"), max_length=64)
    ip = models.GenericIPAddressField(_("requested from"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("login code")
        verbose_name_plural = _("login codes")
        indexes = [
            models.Index(fields=["phone", "-created_at"], name="logincode_phone"),
            models.Index(fields=["ip", "-created_at"], name="logincode_ip"),
        ]

    def __str__(self) -> str:
        return f"…{self.phone[-4:]} {self.created_at:%H:%M}"


class PortalSession(models.Model):
    """A resident's login: the cookie holds a random key, the table its digest."""

    resident = models.ForeignKey(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="sessions"
    )
    key_hash = models.CharField(_("key digest"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("portal session")
        verbose_name_plural = _("portal sessions")

    def __str__(self) -> str:
        return f"{self.resident} {self.created_at:%Y-%m-%d}"


class BindingProof(models.TextChoices):
    NAME = "name", _("Holder's name")
    ID_DIGITS = "id_digits", _("Last digits of the ID / USCC")


class Binding(models.Model):
    """An account a resident proved to be theirs; several per resident, and an account
    may be bound by several residents (an enterprise's staff share its accounts)."""

    resident = models.ForeignKey(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="bindings"
    )
    account = models.ForeignKey(
        "customers.Account",
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="portal_bindings",
    )
    proof = models.CharField(_("proved by"), max_length=10, choices=BindingProof.choices)
    created_at = models.DateTimeField(_("bound at"))

    class Meta:
        verbose_name = _("bound account")
        verbose_name_plural = _("bound accounts")
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["resident", "account"], name="binding_once")]

    def __str__(self) -> str:
        return f"{self.resident} → {self.account_id}"


class BindAttempt(models.Model):
    """A failed binding try (limits guessing holders' names and ID digits)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("failed binding")
        verbose_name_plural = _("failed bindings")

    def __str__(self) -> str:
        return f"{self.resident_id} {self.at:%Y-%m-%d %H:%M}"


class RepairPhoto(models.Model):
    """A photo a resident attached to a repair report (served to them and staff only)."""

    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("case"), on_delete=models.CASCADE, related_name="+"
    )
    resident = models.ForeignKey(Resident, verbose_name=_("resident"), on_delete=models.CASCADE)
    image = models.FileField(_("photo"), upload_to="portal/%Y/%m/")
    content_type = models.CharField(_("type"), max_length=20)
    size = models.PositiveIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(_("uploaded"))

    class Meta:
        verbose_name = _("repair photo")
        verbose_name_plural = _("repair photos")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.image.name}"


class CaseLink(models.Model):
    """A case a resident opened from the portal (what "my cases" lists besides the cases
    of their bound accounts)."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="cases")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("portal case")
        verbose_name_plural = _("portal cases")
        constraints = [
            models.UniqueConstraint(fields=["resident", "ticket"], name="portal_case_once")
        ]

    def __str__(self) -> str:
        return f"{self.resident} {self.ticket_id}"


class AssistKind(models.TextChoices):
    """The assisted services of the elder-friendly mode (适老化, R-INTAKE-6)."""

    CALLBACK = "callback", _("Call me back")
    VISIT = "visit", _("Home visit")
    PICKUP = "pickup", _("Pick-up to a service hall")


class Slot(models.TextChoices):
    MORNING = "am", _("Morning (9:00–12:00)")
    AFTERNOON = "pm", _("Afternoon (14:00–17:00)")


class AppointmentStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")


class Appointment(models.Model):
    """An assisted service a resident booked in one tap (call back, home visit, pick-up to
    a service hall): a case with a date and a half-day slot, confirmed by an agent."""

    ticket = models.OneToOneField(
        "tickets.Ticket",
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="portal_appointment",
    )
    resident = models.ForeignKey(
        Resident, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("service"), max_length=10, choices=AssistKind.choices)
    date = models.DateField(_("date"))
    slot = models.CharField(_("time"), max_length=2, choices=Slot.choices)
    address = models.CharField(_("address"), max_length=255, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.REQUESTED,
    )
    created_at = models.DateTimeField(_("booked at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("assisted-service appointment")
        verbose_name_plural = _("assisted-service appointments")
        ordering = ["date", "slot", "pk"]
        indexes = [models.Index(fields=["status", "date"], name="appointment_todo")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date:%Y-%m-%d} {self.slot}"


class LocationKind(models.TextChoices):
    HALL = "hall", _("Service hall")
    GOV_CENTRE = "gov_centre", _("Government service centre")


class ServiceLocation(models.Model):
    """A counter where staff take cases for walk-in customers (R-INTAKE-7): one of the
    company's service halls or a window at a government service centre (行政服务中心)."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=LocationKind.choices)
    address = models.CharField(_("address"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service location")
        verbose_name_plural = _("service locations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CounterCase(models.Model):
    """A case taken at a counter: where, by whom, and the customer's signature (a PNG
    drawn on the tablet) when one was needed."""

    ticket = models.OneToOneField(
        "tickets.Ticket", verbose_name=_("case"), on_delete=models.CASCADE, related_name="counter"
    )
    location = models.ForeignKey(
        ServiceLocation, verbose_name=_("location"), on_delete=models.PROTECT, related_name="+"
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    signature = models.FileField(_("signature"), upload_to="counter/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("taken at"), db_index=True)

    class Meta:
        verbose_name = _("counter case")
        verbose_name_plural = _("counter cases")

    def __str__(self) -> str:
        return f"{self.location} {self.ticket_id}"
