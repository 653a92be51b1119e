from __future__ import annotations

from django.contrib import admin

from qingquan.core.admin import CapabilityAdmin, ReadOnlyAdminMixin
from qingquan.surveys.models import CallbackPolicy, CallbackTask, CustomerManagerAssignment


@admin.register(CallbackPolicy)
class CallbackPolicyAdmin(CapabilityAdmin):
    view_capability = "tickets.configure"
    change_capability = "tickets.configure"
    list_display = ("__str__", "mode", "sample_percent", "due_working_days", "max_attempts")


@admin.register(CustomerManagerAssignment)
class CustomerManagerAssignmentAdmin(CapabilityAdmin):
    view_capability = "surveys.callback"
    change_capability = "customers.manage"
    list_display = ("manager", "customer", "since", "is_active")
    raw_id_fields = ("customer",)


@admin.register(CallbackTask)
class CallbackTaskAdmin(ReadOnlyAdminMixin, CapabilityAdmin):
    """Read-only: callbacks change through the services (my callbacks page)."""

    view_capability = "tickets.supervise"
    change_capability = "tickets.supervise"
    list_display = ("__str__", "assignee", "due_at", "status", "outcome", "attempts")
    list_filter = ("purpose", "status", "outcome")
