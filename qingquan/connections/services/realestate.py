"""Real-estate supporting projects (R-CON-6): the project with its documented ready date
(具备施工条件) and evidence; construction entry within 10 working days of it on the
utility's clock; then the milestones to handover (the policy's milestone steps).

An application made before the site is ready starts with its clock paused on the
customer's side ("the customer's own works not ready"); recording the ready date ends
that pause at the start of the ready date (never before the application): from then the
10 working days run, with every other customer-side pause as for the other policies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.connections.models import (
    Application,
    ClockPause,
    PauseReason,
    RealEstateProject,
)
from qingquan.connections.services.base import (
    Refused,
    actor_label,
    audit,
    bump,
    entry,
    lock,
    refresh_clock,
)
from qingquan.core import clock
from qingquan.core.sla import SHANGHAI
from qingquan.core.validation import clean_text
from qingquan.staff.access import check


@dataclass(frozen=True)
class ProjectInput:
    """A developer's project as the application gives it."""

    name: str
    households: Any = 0
    ready_on: dt.date | None = None
    ready_evidence: str = ""


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise Refused(_("Give the ready date as YYYY-MM-DD."), field="ready_on") from None


def ready_check(ready_on: Any, evidence: str) -> tuple[dt.date, str]:
    """The ready date (not in the future) and its evidence (required), or `Refused`."""
    day = _date(ready_on)
    if day is None:
        raise Refused(_("Give the date on which the site was ready."), field="ready_on")
    if day > clock.today():
        raise Refused(
            _("The site must be ready before its date is recorded: %(d)s is in the future.")
            % {"d": day.isoformat()},
            field="ready_on",
        )
    if day.year < 2000:
        raise Refused(_("Give the ready date as YYYY-MM-DD."), field="ready_on")
    text = clean_text(evidence, field=_("evidence"), max_length=300)
    if not text:
        raise Refused(
            _("Give the evidence that the site is ready (an acceptance record, photos, a letter)."),
            field="ready_evidence",
        )
    return day, text


def project_check(project: ProjectInput | None) -> dict[str, Any]:
    """A real-estate application's project, cleaned (its ready date optional)."""
    if project is None:
        raise Refused(_("Name the real-estate project."), field="project_name")
    name = clean_text(project.name, field=_("project"), max_length=120)
    if not name:
        raise Refused(_("Name the real-estate project."), field="project_name")
    try:
        households = int(project.households or 0)
    except (TypeError, ValueError):
        households = -1
    if not 0 <= households <= 100_000:
        raise Refused(_("Give the households as a number up to 100000."), field="households")
    fields: dict[str, Any] = {"name": name, "households": households}
    if project.ready_on not in (None, "") or (project.ready_evidence or "").strip():
        fields["ready_on"], fields["ready_evidence"] = ready_check(
            project.ready_on, project.ready_evidence
        )
    return fields


def project_create(*, actor: Any, application: Application, fields: dict[str, Any]) -> None:
    """The project of a new real-estate application (in its intake transaction): with a
    ready date the clock runs from the application; without, it starts paused."""
    project = RealEstateProject(application=application, **fields)
    now = application.created_at
    if project.ready_on is not None:
        project.ready_recorded_at = now
        project.ready_recorded_by = actor_label(actor)
    else:
        project.waiting_pause = ClockPause.objects.create(
            application=application,
            reason=PauseReason.CUSTOMER_WORKS,
            evidence=_("Waiting for the developer's documented ready date."),
            started_at=now,
            started_by=actor_label(actor),
        )
    project.save()


def ready_record(
    *,
    actor: Any,
    application: Application,
    ready_on: Any,
    evidence: str,
    documents: Sequence[UploadedFile] = (),
    version: int | None = None,
) -> RealEstateProject:
    """Record the documented date the site was ready, with its evidence (and a scanned
    document, checked like the application's); the clock's wait on the developer ends
    at the start of that day (never before the application). The customer manager or
    the current step's owner; once."""
    from qingquan.connections.services.intake import document_check, suffix
    from qingquan.connections.services.steps import _pauser_check

    check(actor, "connections.work")
    day, text = ready_check(ready_on, evidence)
    upload = document_check(documents) if documents else None
    with transaction.atomic():
        app = lock(application, version)
        _pauser_check(actor, app)
        project = RealEstateProject.objects.select_for_update().filter(application=app).first()
        if project is None:
            raise Refused(_("This application is no real-estate project."))
        if project.ready_on is not None:
            raise Refused(
                _("The ready date was recorded already (%(d)s).") % {"d": project.ready_on}
            )
        now = clock.now()
        start = dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)
        pause = project.waiting_pause
        if pause is not None and pause.ended_at is None:
            ended = min(max(pause.started_at, start), now)
            ClockPause.objects.filter(pk=pause.pk).update(
                ended_at=ended, ended_by=actor_label(actor)
            )
        project.ready_on, project.ready_evidence = day, text
        project.ready_recorded_at, project.ready_recorded_by = now, actor_label(actor)
        if upload is not None:
            project.ready_document.save(f"ready{suffix(upload[1])}", upload[0], save=False)
        project.save()
        bump(app)
        refresh_clock(app)
        entry(
            app,
            "ready",
            _("Site ready on %(d)s (%(e)s): the 10 working days to construction entry run.")
            % {"d": day.isoformat(), "e": text},
            actor=actor,
        )
        audit(actor, "ready", app, ready_on=day.isoformat(), evidence=text)
    return project


def waiting_for_ready(app: Application, pause: ClockPause) -> bool:
    """Whether `pause` is the wait for a ready date not yet recorded (only recording the
    date ends it)."""
    return RealEstateProject.objects.filter(
        application=app, waiting_pause=pause, ready_on__isnull=True
    ).exists()
