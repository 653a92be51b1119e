"""Reading callbacks, with access enforced."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from qingquan.staff.access import can
from qingquan.surveys.models import CallbackTask


def callbacks_for(user: Any) -> QuerySet[CallbackTask]:
    """The callbacks ``user`` may see: their own; a supervisor sees every one."""
    qs = CallbackTask.objects.select_related("ticket", "customer", "assignee")
    if not can(user, "surveys.callback"):
        return qs.none()
    if can(user, "tickets.supervise"):
        return qs
    return qs.filter(assignee=user)


def open_callbacks(user: Any) -> QuerySet[CallbackTask]:
    return callbacks_for(user).filter(status=CallbackTask.Status.OPEN).order_by("due_at", "id")
