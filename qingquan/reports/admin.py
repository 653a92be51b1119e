from __future__ import annotations

from django.contrib import admin

from qingquan.core.admin import CapabilityAdmin
from qingquan.reports.models import ReportSubscription, ServiceCommitment


@admin.register(ServiceCommitment)
class ServiceCommitmentAdmin(CapabilityAdmin):
    view_capability = "reports.view_all"
    change_capability = "tickets.configure"
    list_display = ("position", "title", "time_limit", "kind", "measure", "target_percent")
    list_display_links = ("title",)
    list_filter = ("measure", "is_published")


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(CapabilityAdmin):
    view_capability = "reports.subscribe"
    change_capability = "reports.subscribe"
    list_display = ("email", "frequency", "is_active", "last_sent_for")
    list_filter = ("frequency", "is_active")
    readonly_fields = ("last_sent_for",)
