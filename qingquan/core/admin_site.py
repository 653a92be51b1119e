"""The back-office admin site, gated by the `admin.site` capability."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _


class QingquanAdminSite(admin.AdminSite):
    """Admin site whose entry and per-model rights come from `qingquan.staff.access`."""

    site_header = _("Qingquan back office")
    site_title = _("Qingquan")
    index_title = _("Records and settings")
    index_template = "admin/qingquan_index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        from qingquan.staff.access import can

        return can(request.user, "admin.site")

    def get_urls(self) -> list[Any]:
        status = path("status/", self.admin_view(self.status_view), name="status")
        return [status, *super().get_urls()]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from qingquan.core.status import silent_workers

        context = {"silent_workers": silent_workers(), **(extra_context or {})}
        return super().index(request, extra_context=context)

    def status_view(self, request: HttpRequest) -> HttpResponse:
        """Background work at a glance: workers and their heartbeats, queues, outboxes."""
        from qingquan.core.status import background_status

        context = {
            **self.each_context(request),
            "title": _("System status"),
            "status": background_status(),
        }
        return TemplateResponse(request, "admin/qingquan_status.html", context)
