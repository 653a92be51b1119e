from __future__ import annotations

from django.contrib import admin

from qingquan.core.admin import CapabilityAdmin
from qingquan.portal.models import ServiceLocation


@admin.register(ServiceLocation)
class ServiceLocationAdmin(CapabilityAdmin):
    """The counters' locations (service halls, government service centres)."""

    view_capability = "tickets.create"
    change_capability = "tickets.configure"
    list_display = ("name", "kind", "address", "is_active")
    list_filter = ("kind", "is_active")
