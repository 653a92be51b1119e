"""contact_end: a contact's end, talk and waiting time and outcome, audited, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.tickets import services
from qingquan.tickets.errors import InvalidInput

from .conftest import sh

pytestmark = pytest.mark.django_db


def test_contact_end_records_times_outcome_and_audit(at: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    contact = services.contact_record(
        actor=people["agent"], channel="phone", from_address="13800001111"
    )
    ended = services.contact_end(
        actor=people["agent"],
        contact=contact,
        ended_at=sh(2026, 3, 2, 9, 3),
        wait_seconds=14,
        outcome="answered",
        recording_ref="rec/1.wav",
    )
    contact.refresh_from_db()
    assert contact.ended_at == sh(2026, 3, 2, 9, 3) == ended.ended_at
    assert contact.duration_seconds == 180 and contact.wait_seconds == 14
    assert contact.outcome == "answered" and contact.recording_ref == "rec/1.wav"
    audit = AuditEvent.objects.get(action="contact.end", object_id=str(contact.pk))
    assert audit.actor == people["agent"]
    assert audit.before is not None and audit.after is not None
    assert audit.before["ended_at"] is None and audit.after["wait_seconds"] == 14

    with pytest.raises(InvalidInput):  # a contact ends once
        services.contact_end(actor=SYSTEM, contact=contact, ended_at=sh(2026, 3, 2, 10))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ended_at": sh(2026, 3, 2, 8)},  # before it started
        {"ended_at": sh(2026, 3, 2, 9, 1), "outcome": "maybe"},
        {"ended_at": sh(2026, 3, 2, 9, 1), "wait_seconds": -1},
        {"ended_at": sh(2026, 3, 2, 9, 1), "talk_seconds": -5},
    ],
)
def test_contact_end_refuses_bad_input(at: Any, people: Any, kwargs: dict[str, Any]) -> None:
    at(sh(2026, 3, 2, 9))
    contact = services.contact_record(actor=people["agent"], channel="phone")
    with pytest.raises(InvalidInput):
        services.contact_end(actor=people["agent"], contact=contact, **kwargs)
    contact.refresh_from_db()
    assert contact.ended_at is None
    assert not AuditEvent.objects.filter(action="contact.end").exists()


def test_explicit_talk_time_wins_over_the_span(at: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    contact = services.contact_record(actor=people["agent"], channel="phone")
    services.contact_end(
        actor=people["agent"],
        contact=contact,
        ended_at=sh(2026, 3, 2, 9) + dt.timedelta(seconds=100),
        talk_seconds=88,
    )
    contact.refresh_from_db()
    assert contact.duration_seconds == 88
