"""Crews: the texts to their phones (outbox rows and the demo gateway), their position
and status."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock, outbox
from qingquan.core.access import AccessDenied
from qingquan.core.actors import user_of
from qingquan.core.audit import audit_record, snapshot
from qingquan.dispatch import live
from qingquan.dispatch.errors import InvalidInput
from qingquan.dispatch.models import (
    Crew,
    CrewMessage,
    CrewStatus,
    Job,
    crew_members,
)
from qingquan.staff.access import can, check

logger = logging.getLogger("qingquan.dispatch.services")  # the name it had as one module


def _message(job: Job, crew: Crew, *, now: dt.datetime) -> int:
    """Outbox rows: a text to each member of `crew` about `job`."""
    text = _("Repair job %(number)s: %(kind)s, %(address)s. Open the crew app.") % {
        "number": job.number,
        "kind": job.get_kind_display(),
        "address": job.address or f"{job.latitude:.5f},{job.longitude:.5f}",
    }
    rows = [
        CrewMessage(recipient=m, job=job, text=text[:300], created_at=now, next_attempt_at=now)
        for m in crew_members(crew)
    ]
    CrewMessage.objects.bulk_create(rows)
    if rows:
        outbox.wake_on_commit()
    return len(rows)


def crew_messages_send(pks: list[int], *, worker: str, now: dt.datetime) -> int:
    """The outbox's `send`: the demo gateway logs each text (a real SMS gateway is a
    setting for production) and records it delivered while it is still `worker`'s claim."""
    rows = list(
        CrewMessage.objects.filter(pk__in=pks, claimed_by=worker).select_related("recipient")
    )
    for row in rows:
        logger.info("crew message to %s: %s", row.recipient.username, row.text)
    return CrewMessage.objects.filter(pk__in=[r.pk for r in rows], claimed_by=worker).update(
        status=CrewMessage.Status.DELIVERED,
        sent_at=now,
        attempts=1,
        claimed_by="",
        lease_until=None,
    )


@transaction.atomic
def crew_position(*, actor: Any, crew: Crew, lon: float, lat: float) -> Crew:
    """The crew app's position while on duty (not audited: a position is not a change of
    anyone's rights or records, and comes every minute)."""
    check(actor, "dispatch.crew")
    user = user_of(actor)
    if user is None or user.team_id != crew.team_id:
        raise AccessDenied(_("You may send only your own crew's position."))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(_("The position is outside the map."), field="position")
    Crew.objects.filter(pk=crew.pk).update(
        last_longitude=lon, last_latitude=lat, last_seen_at=clock.now()
    )
    crew.refresh_from_db()
    return crew


@transaction.atomic
def crew_set_status(*, actor: Any, crew: Crew, status: str) -> Crew:
    """A dispatcher (or the crew) marks a crew available or off duty."""
    if not can(actor, "dispatch.manage"):
        check(actor, "dispatch.crew")
        user = user_of(actor)
        if user is None or user.team_id != crew.team_id:
            raise AccessDenied(_("You may change only your own crew's status."))
    if status not in CrewStatus.values:
        raise InvalidInput(_("Unknown crew status."), field="status")
    crew = Crew.objects.select_for_update().get(pk=crew.pk)
    before = snapshot(crew, ("status",))
    crew.status = status
    crew.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="dispatch.crew.status",
        obj=crew,
        before=before,
        after=snapshot(crew, ("status",)),
    )
    live.board_changed(change="crew.status", crew=crew.pk, status=status)
    return crew
