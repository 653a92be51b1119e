"""Periodic callback work: customer managers' twice-yearly calls, missed tasks, reminders."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django_tasks import task

from qingquan.core import clock
from qingquan.core.notifications import notify
from qingquan.core.periodic import every
from qingquan.surveys import services
from qingquan.surveys.models import CallbackTask


@every(3600)
@task()
def schedule_callbacks() -> dict[str, int]:
    """Create due manager calls and any case callback a crash left out; remind callers of
    overdue callbacks (once per task)."""
    now = clock.now()
    made = services.schedule_manager_calls(now=now)
    missed = services.schedule_missed_resolutions(since=now - dt.timedelta(days=3))
    overdue = 0
    for item in CallbackTask.objects.filter(
        status=CallbackTask.Status.OPEN, due_at__lt=now
    ).select_related("assignee", "ticket")[:1000]:
        if notify(
            recipient=item.assignee,
            title=_("A callback is overdue: %(what)s") % {"what": str(item)},
            level="warning",
            dedupe_key=f"callback-overdue:{item.pk}",
        ):
            overdue += 1
    return {"manager_calls": made, "missed": missed, "reminded": overdue}
