"""`{% recording_player contact %}`: the case page's player for a call recording (seek and
speed with the browser's audio controls, a download link), only for users who may listen;
`{{ key|queue_label }}`: a queue's name."""

from __future__ import annotations

from typing import Any

from django import template

from qingquan.staff.access import can
from qingquan.telephony.models import queue_label as _queue_label

register = template.Library()
SPEEDS = ("0.75", "1", "1.5", "2")


@register.inclusion_tag("telephony/recording_player.html", takes_context=True)
def recording_player(context: Any, contact: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "contact": contact,
        "may_listen": bool(user and can(user, "telephony.recordings")),
        "speeds": SPEEDS,
    }


@register.simple_tag
def callbacks_waiting() -> int:
    """How many callback requests wait for an agent (the console's link shows it)."""
    from qingquan.telephony.selectors import callbacks_waiting_count

    return callbacks_waiting_count()


@register.filter
def queue_label(key: str) -> str:
    return _queue_label(key or "") if key else "—"
