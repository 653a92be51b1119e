"""What the console adds to a case: attachments (photos, documents) and notes that are
either internal or visible to the customer. Written only by qingquan.console.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Visibility(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    CUSTOMER = "customer", _("Visible to the customer")


class Attachment(models.Model):
    """A photo or document on a case, stored under MEDIA_ROOT and served after an access
    check (never from a public URL)."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("Photo")
        DOCUMENT = "document", _("Document")

    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(_("file"), upload_to="cases/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    visibility = models.CharField(
        _("visible to"), max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class CaseNote(models.Model):
    """A note on a case: internal (staff only) or for the customer (read out or published)."""

    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("case"), on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("written"))
    body = models.TextField(_("note"))
    visibility = models.CharField(
        _("visible to"), max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )

    class Meta:
        verbose_name = _("case note")
        verbose_name_plural = _("case notes")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"])]

    def __str__(self) -> str:
        return self.body[:40]


class Draft(models.Model):
    """What an agent has typed into a console form and not yet sent, kept on the server per
    person and per contact or case (the browser keeps its own copy in localStorage), so a
    reload, a refresh of the call banner or a second tab never loses it. Removed when the
    form is sent."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    # "intake:contact:<id>" or "note:case:<number>" (console.services.DRAFT_KEY).
    key = models.CharField(_("form"), max_length=120)
    data = models.JSONField(_("typed values"), default=dict)
    updated_at = models.DateTimeField(_("saved"))

    class Meta:
        verbose_name = _("draft")
        verbose_name_plural = _("drafts")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="console_draft_unique_per_user")
        ]

    def __str__(self) -> str:
        return self.key
