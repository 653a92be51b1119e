from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest

from qingquan.staff.access import navigation_bar, navigation_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menu entries the user's role may use, and their unread notification count.

    The count is counted when a template shows it (the page's bell), once per render:
    fragments an agent's console fetches (the screen pop, case rows) have no bell and
    should not pay a query for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "nav_bar": [], "unread_notifications": 0}
    from qingquan.core.models import Notification

    @functools.cache
    def unread_notifications() -> int:
        return Notification.objects.filter(recipient=user).unread().count()

    return {
        "nav_items": navigation_for(user),
        "nav_bar": navigation_bar(user),
        "unread_notifications": unread_notifications,
    }
