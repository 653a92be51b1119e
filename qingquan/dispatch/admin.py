"""Management screens: repair time policies and crews (administrators); jobs, their steps
and the crew messages are read-only here (they change only through the services)."""

from __future__ import annotations

from django.contrib import admin

from qingquan.core.admin import CapabilityAdmin, ReadOnlyAdminMixin, ReadOnlyInline
from qingquan.dispatch.models import (
    Assignment,
    Crew,
    CrewMessage,
    Job,
    JobPause,
    JobStep,
    Referral,
    ReferralPartner,
    RepairPolicy,
)


@admin.register(RepairPolicy)
class RepairPolicyAdmin(CapabilityAdmin):
    """Budgets by kind of repair and pipe diameter; jobs already made keep theirs."""

    view_capability = "dispatch.view"
    change_capability = "dispatch.configure"
    list_display = [
        "name",
        "kind",
        "min_diameter_mm",
        "priority",
        "arrive_seconds",
        "restore_seconds",
        "warn_fraction",
    ]
    list_filter = ["kind"]


@admin.register(Crew)
class CrewAdmin(CapabilityAdmin):
    view_capability = "dispatch.view"
    change_capability = "dispatch.configure"
    list_display = ["__str__", "vehicle", "status", "district", "last_seen_at"]
    list_filter = ["status", "district"]
    readonly_fields = ["last_longitude", "last_latitude", "last_seen_at"]


class PauseInline(ReadOnlyInline):
    model = JobPause


class AssignmentInline(ReadOnlyInline):
    model = Assignment


class StepInline(ReadOnlyInline):
    model = JobStep
    fields = ["kind", "at", "received_at", "offline", "by", "valve", "note"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    view_capability = "dispatch.view"
    change_capability = "dispatch.configure"
    list_display = [
        "number",
        "kind",
        "state",
        "priority",
        "district",
        "created_at",
        "arrived_at",
        "restored_at",
    ]
    list_filter = ["state", "kind", "priority", "district"]
    search_fields = ["number", "ticket__number", "address"]
    inlines = [AssignmentInline, PauseInline, StepInline]


@admin.register(CrewMessage)
class CrewMessageAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    view_capability = "dispatch.configure"
    change_capability = "dispatch.configure"
    list_display = ["job", "recipient", "status", "created_at", "sent_at"]
    list_filter = ["status"]


@admin.register(ReferralPartner)
class ReferralPartnerAdmin(CapabilityAdmin):
    """The companies cases may be referred to (R-REP-3)."""

    view_capability = "admin.site"
    change_capability = "dispatch.configure"
    list_display = ["name", "service", "phone", "is_active"]


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    view_capability = "admin.site"
    change_capability = "dispatch.configure"
    list_display = ["ticket", "partner", "created_at", "created_by"]
    list_filter = ["partner"]
