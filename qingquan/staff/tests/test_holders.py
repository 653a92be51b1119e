"""Who a live push goes to (`selectors.holders`): the active staff whose role grants the
capability, read by role with one query and kept for a while, forgotten when a staff
member is saved or deleted — a phone event does not load every staff member."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qingquan.core.actors import SYSTEM
from qingquan.staff.models import Role
from qingquan.staff.selectors import holders
from qingquan.telephony import services as telephony

pytestmark = pytest.mark.django_db


def test_holders_are_the_active_staff_whose_role_grants_the_capability(make_user: Any) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    admin = make_user(Role.ADMINISTRATOR)
    make_user(Role.AGENT)
    gone = make_user(Role.SUPERVISOR)
    gone.is_active = False
    gone.save()

    assert sorted(holders("wallboard.view")) == sorted([supervisor.pk, admin.pk])


def test_a_staff_member_saved_or_deleted_is_seen_at_the_next_push(make_user: Any) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    assert holders("wallboard.view") == [supervisor.pk]
    with CaptureQueriesContext(connection) as kept:
        assert holders("wallboard.view") == [supervisor.pk]
    assert len(kept) == 0

    other = make_user(Role.SUPERVISOR)
    assert sorted(holders("wallboard.view")) == sorted([supervisor.pk, other.pk])
    supervisor.role = Role.AGENT
    supervisor.save()
    assert holders("wallboard.view") == [other.pk]
    other.delete()
    assert holders("wallboard.view") == []


def test_a_phone_events_wallboard_push_reads_staff_by_role_and_then_not_again(
    make_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The wallboard's push once read every active staff member and checked each one's
    role in Python, at every ring, answer and hang-up: a cost that grew with the staff."""
    pbx = telephony.pbx_create(actor=SYSTEM, name="PBX-H", token="holders-token-96390")[0]
    for _ in range(5):
        make_user(Role.AGENT)
    make_user(Role.SUPERVISOR)
    cache.clear()

    def staff_reads(call_id: str) -> list[str]:
        event = telephony.EventIn.model_validate(
            {"event_id": f"{call_id}-r", "call_id": call_id, "type": "ring",
             "from": "13800000000", "to": "96390"}
        )  # fmt: skip
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            telephony.call_event_handle(pbx=pbx, event=event)
        return [q["sql"] for q in queries.captured_queries if 'FROM "staff_user"' in q["sql"]]

    first = staff_reads("holders-1")
    assert len(first) == 1 and '"role" IN' in first[0]
    assert staff_reads("holders-2") == []
