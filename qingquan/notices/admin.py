"""Back-office screens: notices (read-only here; the notice pages run the lifecycle) and
customers' subscriptions (created and deleted through the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from qingquan.core.admin import CapabilityAdmin, ReadOnlyAdminMixin
from qingquan.customers.privacy import Kind, PersonalFieldsAdmin
from qingquan.notices import services
from qingquan.notices.models import Notice, Subscription


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    view_capability = "notices.view"
    change_capability = "notices.approve"
    list_display = ["number", "kind", "title", "status", "starts_at", "expected_end_at", "version"]
    list_filter = ["kind", "status"]
    search_fields = ["number", "title", "area_text"]
    exclude = ["area"]


@admin.register(Subscription)
class SubscriptionAdmin(PersonalFieldsAdmin, CapabilityAdmin):
    view_capability = "notices.subscriptions"
    change_capability = "notices.subscriptions"
    personal_fields = {"address": Kind.PHONE}
    list_display = ["premise", "channel", "shown_address", "created_at"]
    list_filter = ["channel"]
    raw_id_fields = ["premise"]
    fields = ["premise", "channel", "address"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = services.subscription_create(
            actor=request.user, premise=obj.premise, channel=obj.channel, address=obj.address
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.subscription_delete(actor=request.user, subscription=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            services.subscription_delete(actor=request.user, subscription=obj)
