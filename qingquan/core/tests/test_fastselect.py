"""`core.db.fastselect`: its answers are the ORM's answers (values converted as the ORM
converts them: times, JSON, foreign keys), on both databases, with the statement
compiled once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from qingquan.core import clock
from qingquan.core.actors import SYSTEM
from qingquan.core.audit import audit_record
from qingquan.core.db import fastselect
from qingquan.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}


def test_rows_count_and_first_id_answer_as_the_orm(agent: Any) -> None:
    t0 = dt.datetime(2026, 12, 4, 9, 30, 15, 123456, tzinfo=clock.SHANGHAI)
    for minute, actor in ((2, agent), (1, SYSTEM), (3, agent)):
        with time_machine.travel(t0 + dt.timedelta(minutes=minute), tick=False):
            audit_record(
                actor=actor,
                action="fastselect.test",
                obj=agent,
                after={"分钟": minute, "nested": [1, None, "二"]},
                note=f"第{minute}分",
            )
    audit_record(actor=SYSTEM, action="other.action", obj=agent)

    orm = list(AuditEvent.objects.filter(action="fastselect.test").order_by("at", "id"))
    fast = fastselect.rows(AuditEvent, order_by="at", action="fastselect.test")

    assert [_fields(e) for e in fast] == [_fields(e) for e in orm]
    assert [e.at.minute for e in fast] == [31, 32, 33]
    assert fast[0].after == {"分钟": 1, "nested": [1, None, "二"]}
    assert fast[1].actor_id == agent.pk and fast[0].actor_id is None
    assert isinstance(fast[0].at, dt.datetime) and fast[0].at.tzinfo is not None
    assert fast[0]._state.adding is False and fast[0]._state.db == "default"
    assert fastselect.count(AuditEvent, action="fastselect.test") == 3
    assert fastselect.count(AuditEvent, action="nothing") == 0
    assert fastselect.rows(AuditEvent, action="nothing") == []
    assert fastselect.first_id(AuditEvent, action="other.action") is not None
    assert fastselect.first_id(AuditEvent, action="nothing") is None


def test_a_question_is_one_statement_without_the_orm(agent: Any) -> None:
    audit_record(actor=agent, action="fastselect.once", obj=agent)
    fastselect.count(AuditEvent, action="fastselect.once")  # compiled here
    with CaptureQueriesContext(connection) as queries:
        assert fastselect.count(AuditEvent, actor=agent.pk, action="fastselect.once") == 1
    assert len(queries) == 1
    assert queries[0]["sql"].startswith('SELECT COUNT(*) FROM "core_auditevent" WHERE')


def test_the_converters_of_a_model_are_worked_out_once(agent: Any, monkeypatch: Any) -> None:
    audit_record(actor=agent, action="fastselect.converters", obj=agent)
    fastselect.rows(AuditEvent, action="fastselect.converters")  # worked out here
    worked_out: list[Any] = []
    real = fastselect._converters

    def counting(model: Any) -> Any:
        worked_out.append(model)
        return real(model)

    monkeypatch.setattr(fastselect, "_converters", counting)

    found = [fastselect.rows(AuditEvent, action="fastselect.converters") for _ in "abc"]

    assert worked_out == []
    assert all(r[0].at == found[0][0].at and r[0].actor_id == agent.pk for r in found)


def test_a_field_equal_to_none_is_null(agent: Any) -> None:
    audit_record(actor=SYSTEM, action="fastselect.null", obj=agent)
    audit_record(actor=agent, action="fastselect.null", obj=agent)

    by_system = fastselect.rows(AuditEvent, action="fastselect.null", actor=None)
    by_agent = fastselect.rows(AuditEvent, action="fastselect.null", actor=agent.pk)

    orm = AuditEvent.objects.filter(action="fastselect.null", actor=None).get()
    assert [e.pk for e in by_system] == [orm.pk]
    assert [e.actor_id for e in by_agent] == [agent.pk]
    assert fastselect.count(AuditEvent, action="fastselect.null", actor_id=None) == 1


def test_rows_locked_as_select_for_update_locks_them(agent: Any) -> None:
    audit_record(actor=agent, action="fastselect.lock", obj=agent)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = fastselect.rows(AuditEvent, lock=True, action="fastselect.lock")
    assert [e.action for e in locked] == ["fastselect.lock"]
    statement = next(q["sql"] for q in queries if "core_auditevent" in q["sql"])
    # PostgreSQL locks the rows; SQLite has no row locks (its writing transaction holds
    # the one write lock) and refuses the clause.
    assert statement.endswith(" FOR UPDATE") == (connection.vendor == "postgresql")
