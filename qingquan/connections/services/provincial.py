"""The provincial platform (浙里办 / 政务服务网, R-CH-2): an application that came in
through the partner connector sends its step changes and completion back through it.

Each timeline entry that changes what the platform shows (received, the next step
started, the ready date recorded, water on or handover, cancelled) becomes one outbox row
of the partners app (`partners.webhooks.event_queue`) **in the entry's transaction**: a
rolled-back step leaves no message, a committed one always has its message. The partners'
outbox dispatcher sends it signed (HMAC-SHA256), retries it with backoff, and every
attempt carries the same delivery id so the platform acts on each change once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from qingquan.connections.models import Application, ApplicationStep, AppState, Entry

# Timeline entry kinds → the connector's events (other entries are staff-side detail).
EVENTS = {
    "apply": "connection.received",
    "start": "connection.step_changed",
    "ready": "connection.step_changed",
    "water_on": "connection.completed",
    "cancel": "connection.cancelled",
}


def _iso(value: dt.datetime | None) -> str | None:
    from qingquan.partners.webhooks import iso

    return iso(value)


def application_summary(application: Application) -> dict[str, Any]:
    """What the platform learns about the application (no staff-internal detail)."""
    step = ApplicationStep.objects.filter(application=application, order=application.step).first()
    current = (
        {"order": step.order, "code": step.code, "name": step.name, "phase": step.phase}
        if step is not None and application.state == AppState.OPEN
        else None
    )
    return {
        "number": application.number,
        "external_id": application.external_ref or None,
        "policy": application.policy.code,
        "state": application.state,
        "status": "open" if application.state == AppState.OPEN else "closed",
        "step": current,
        "steps": ApplicationStep.objects.filter(application=application).count(),
        "deadline": _iso(application.deadline),
        "clock_stopped_at": _iso(application.clock_done_at),
        "utility_working_days": round(application.utility_seconds / 86_400, 2)
        if application.clock_done_at
        else None,
        "on_time": application.on_time,
        "water_on_at": _iso(application.water_on_at),
        "created_at": _iso(application.created_at),
        "version": application.version,
    }


def report(application: Application, row: Entry) -> int:
    """Queue the connector's message for timeline entry `row` (if it is one the platform
    hears of); returns how many outbox rows were written (one per subscription)."""
    event = EVENTS.get(row.kind)
    if event is None or application.partner_id is None:
        return 0
    from qingquan.partners.webhooks import event_queue

    body = {
        "occurred_at": _iso(row.at),
        "action": row.kind,
        "note": row.text if row.public else "",
        "application": application_summary(application),
    }
    return len(
        event_queue(
            client_id=application.partner_id, event=event, source_event_id=row.pk, body=body
        )
    )
