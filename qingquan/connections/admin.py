"""Management screens: policies with their steps, the "221" rule and the works-fee table
(administrators; fee items saved through `fee_item_save`, which refuses application and
handling fees); applications are read-only here (they change through the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from qingquan.connections import services
from qingquan.connections.models import (
    Application,
    ClockPause,
    EligibilityRule,
    Entry,
    FeeItem,
    Policy,
    PolicyStep,
)
from qingquan.core.admin import CapabilityAdmin, ReadOnlyAdminMixin, ReadOnlyInline


class PolicyStepInline(admin.TabularInline):
    model = PolicyStep
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        from qingquan.staff.access import can

        return can(request.user, "connections.configure")

    has_change_permission = has_add_permission
    has_delete_permission = has_add_permission

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        from qingquan.staff.access import can

        return can(request.user, "connections.view")


@admin.register(Policy)
class PolicyAdmin(CapabilityAdmin):
    """Budgets and steps per policy; applications already made keep theirs."""

    view_capability = "connections.view"
    change_capability = "connections.configure"
    list_display = ["name", "code", "budget_days", "documents", "warn_fraction"]
    inlines = [PolicyStepInline]


@admin.register(EligibilityRule)
class EligibilityRuleAdmin(CapabilityAdmin):
    view_capability = "connections.view"
    change_capability = "connections.configure"
    list_display = ["name", "max_pipe_mm", "max_m3_per_day", "is_active"]


@admin.register(FeeItem)
class FeeItemAdmin(CapabilityAdmin):
    view_capability = "connections.view"
    change_capability = "connections.configure"
    list_display = ["code", "name", "kind", "service", "unit_price", "unit", "is_active"]
    list_filter = ["kind", "is_active"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            services.fee_item_save(actor=request.user, item=obj)
        except services.Refused as exc:
            messages.error(request, exc.message)


class PauseInline(ReadOnlyInline):
    model = ClockPause


class EntryInline(ReadOnlyInline):
    model = Entry


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    view_capability = "connections.view_all"
    list_display = ["number", "applicant_name", "policy", "state", "manager", "created_at"]
    list_filter = ["state", "policy", "channel"]
    search_fields = ["number", "applicant_name", "address"]
    inlines = [PauseInline, EntryInline]
