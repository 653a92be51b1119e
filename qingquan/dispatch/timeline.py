"""How a job's steps read on the case timeline: labels for the `TicketEvent` actions the
dispatch services write (`job_create`, `job_assign`, `job_arrive`, …), added to the
tickets app's table of action labels when the app is ready (tickets imports no app that
follows it)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

LABELS: dict[str, Any] = {
    "job_create": _("Repair job made"),
    "job_assign": _("Crew sent"),
    "job_reassign": _("Crew changed"),
    "job_pause": _("Restoration clock paused"),
    "job_resume": _("Restoration clock resumed"),
    "job_cancel": _("Repair job cancelled"),
    "job_accept": _("Crew accepted the job"),
    "job_en_route": _("Crew on the way"),
    "job_arrive": _("Crew arrived"),
    "job_valve": _("Valve closed"),
    "job_repaired": _("Repaired"),
    "job_restored": _("Supply restored"),
    "job_note": _("Crew note"),
    "job_photo": _("Crew photo"),
    "referral": _("Referred"),
}


def register_labels() -> None:
    from qingquan.tickets.models import ACTION_LABELS

    for action, label in LABELS.items():
        ACTION_LABELS.setdefault(action, label)
