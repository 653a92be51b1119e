"""Back-office screens: the outbound messages (a read-only log) and the unsubscribed
addresses."""

from __future__ import annotations

from django.contrib import admin

from qingquan.core.admin import CapabilityAdmin, ReadOnlyAdminMixin
from qingquan.customers.privacy import Kind, PersonalFieldsAdmin
from qingquan.messaging.models import Message, OptOut


@admin.register(Message)
class MessageAdmin(PersonalFieldsAdmin, ReadOnlyAdminMixin, CapabilityAdmin):
    view_capability = "messaging.view"
    change_capability = "messaging.view"
    personal_fields = {"to": Kind.PHONE}
    list_display = [
        "message_id",
        "channel",
        "shown_to",
        "template",
        "status",
        "attempts",
        "receipt",
        "created_at",
        "sent_at",
    ]
    list_filter = ["channel", "status", "receipt", "source"]
    fields = [
        "message_id",
        "channel",
        "to",
        "template",
        "body",
        "segments",
        "urgent",
        "source",
        "source_id",
        "status",
        "attempts",
        "in_doubt",
        "next_attempt_at",
        "provider_ref",
        "last_error",
        "created_at",
        "sent_at",
        "receipt",
        "receipt_at",
        "receipt_error",
    ]


@admin.register(OptOut)
class OptOutAdmin(PersonalFieldsAdmin, ReadOnlyAdminMixin, CapabilityAdmin):
    view_capability = "messaging.view"
    change_capability = "messaging.view"
    personal_fields = {"address": Kind.PHONE}
    list_display = ["channel", "shown_address", "at", "source"]
    list_filter = ["channel"]
    fields = ["channel", "address", "at", "source"]
