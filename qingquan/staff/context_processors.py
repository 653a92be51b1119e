from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from qingquan.staff.access import navigation_bar, navigation_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu entries the user's role may use, and their unread notification count."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_bar": [], "unread_notifications": 0}
    from qingquan.core.models import Notification

    return {
        "nav_items": navigation_for(user),
        "nav_bar": navigation_bar(user),
        "unread_notifications": Notification.objects.filter(recipient=user).unread().count(),
    }
