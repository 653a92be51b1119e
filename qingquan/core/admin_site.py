"""The back-office admin site, gated by the `admin.site` capability."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class QingquanAdminSite(admin.AdminSite):
    """Admin site whose entry and per-model rights come from `qingquan.staff.access`."""

    site_header = _("Qingquan back office")
    site_title = _("Qingquan")
    index_title = _("Records and settings")

    def has_permission(self, request: HttpRequest) -> bool:
        from qingquan.staff.access import can

        return can(request.user, "admin.site")
