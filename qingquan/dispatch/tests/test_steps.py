"""The crew's steps: in order, idempotent, the offline queue in original order, photos, and
the whole path of a burst from the first call to the callback."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from qingquan.dispatch import selectors, services
from qingquan.dispatch.errors import InvalidInput, OutOfOrder
from qingquan.dispatch.models import Crew, CrewStatus, JobStep
from qingquan.network.tests.helpers import import_small
from qingquan.tickets.models import Ticket, TicketEvent, TicketState
from qingquan.tickets.tests.conftest import sh

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(tmp_path, people, crews, located_case, at) -> Any:
    at(sh(2026, 12, 3, 21, 0))
    import_small(tmp_path)
    job = services.job_create(actor=people["dispatcher"], ticket=located_case("repair-burst"))
    return services.job_assign(
        actor=people["dispatcher"], job=job, crew=crews["haishu"], version=job.version
    )


def _step(member: Any, job: Any, kind: str, n: int, **kw: Any) -> services.StepResult:
    return services.step_record(actor=member, job=job, kind=kind, client_id=f"s-{job.pk}-{n}", **kw)


def test_steps_in_order_and_out_of_order_refused(people, crews, assigned, at) -> None:
    member = crews["member"]
    with pytest.raises(OutOfOrder) as refused:
        _step(member, assigned, "repaired", 1)
    assert "“Repaired” is not possible now" in refused.value.message
    assert "the next step is “Accepted”" in refused.value.message
    job = _step(member, assigned, "accept", 2).job
    job = _step(member, job, "en_route", 3).job
    assert Crew.objects.get(pk=crews["haishu"].pk).status == CrewStatus.EN_ROUTE
    at(sh(2026, 12, 3, 21, 40))
    job = _step(member, job, "arrive", 4).job
    assert job.arrived_at == sh(2026, 12, 3, 21, 40)
    case = Ticket.objects.get(pk=job.ticket_id)
    assert case.arrived_at == sh(2026, 12, 3, 21, 40)  # the case's own arrival follows
    with pytest.raises(InvalidInput, match="not in the job's isolation plan"):
        _step(member, job, "valve", 5, valve="VD")
    for i, valve in enumerate(["VA", "VB", "VE"]):
        job = _step(member, job, "valve", 6 + i, valve=valve).job
    with pytest.raises(OutOfOrder, match="already ticked"):
        _step(member, job, "valve", 9, valve="VA")
    assert job.closed_valves == ["VA", "VB", "VE"]
    labels = list(
        TicketEvent.objects.filter(ticket=job.ticket, action__startswith="job_").values_list(
            "action", flat=True
        )
    )
    assert labels[:4] == ["job_create", "job_assign", "job_accept", "job_en_route"]


def test_the_same_step_sent_twice_changes_nothing(crews, assigned) -> None:
    first = _step(crews["member"], assigned, "accept", 1)
    again = _step(crews["member"], first.job, "accept", 1)
    assert again.replayed and again.step.pk == first.step.pk
    assert JobStep.objects.count() == 1
    with pytest.raises(InvalidInput, match="another step"):
        _step(crews["member"], first.job, "en_route", 1)


def test_the_offline_queue_is_applied_in_original_order(crews, assigned, at) -> None:
    at(sh(2026, 12, 3, 22, 0))
    steps = [  # sent in the wrong order; their original times put them right
        {"id": "q3", "kind": "arrive", "at": sh(2026, 12, 3, 21, 40)},
        {"id": "q1", "kind": "accept", "at": sh(2026, 12, 3, 21, 5)},
        {"id": "q2", "kind": "en_route", "at": sh(2026, 12, 3, 21, 10)},
    ]
    result = services.steps_replay(actor=crews["member"], job=assigned, steps=steps)
    assert result.refused == {}
    assert [r.step.client_id for r in result.applied] == ["q1", "q2", "q3"]
    job = result.applied[-1].job
    assert job.state == "on_site" and job.arrived_at == sh(2026, 12, 3, 21, 40)
    assert all(s.offline for s in JobStep.objects.all())
    # the queue replayed again (the answer was lost): nothing changes
    again = services.steps_replay(actor=crews["member"], job=job, steps=steps)
    assert all(r.replayed for r in again.applied) and JobStep.objects.count() == 3


def test_an_offline_queue_that_skips_a_step_stops_there(crews, assigned, at) -> None:
    at(sh(2026, 12, 3, 22, 0))
    steps = [
        {"id": "a", "kind": "accept", "at": sh(2026, 12, 3, 21, 5)},
        {"id": "b", "kind": "repaired", "at": sh(2026, 12, 3, 21, 30)},
        {"id": "c", "kind": "note", "at": sh(2026, 12, 3, 21, 31), "note": "x"},
    ]
    result = services.steps_replay(actor=crews["member"], job=assigned, steps=steps)
    assert [r.step.client_id for r in result.applied] == ["a"]
    assert "not possible now" in result.refused["b"] and "earlier step" in result.refused["c"]


def test_an_offline_step_another_crew_already_took_is_kept_for_the_history(
    people, crews, assigned, at
) -> None:
    job = services.job_assign(
        actor=people["dispatcher"],
        job=assigned,
        crew=crews["jiangbei"],
        version=assigned.version,
        add=True,
    )
    at(sh(2026, 12, 3, 21, 30))
    job = _step(crews["member2"], job, "accept", 1).job
    result = services.steps_replay(
        actor=crews["member"],
        job=job,
        steps=[{"id": "late", "kind": "accept", "at": sh(2026, 12, 3, 21, 20)}],
    )
    assert result.refused == {} and result.applied[0].job.state == "accepted"
    assert TicketEvent.objects.get(action="job_accept", data__late=True)


def test_a_crew_not_on_the_job_may_not_take_its_steps(crews, assigned) -> None:
    from qingquan.core.access import AccessDenied

    with pytest.raises(AccessDenied):
        _step(crews["member2"], assigned, "accept", 1)


def _png(size: int = 8) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), "blue").save(out, "PNG")
    return out.getvalue()


def test_photos_are_checked(crews, assigned, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    member = crews["member"]
    ok = _step(
        member,
        assigned,
        "photo",
        1,
        photo=SimpleUploadedFile("a.png", _png()),
        photo_phase="before",
    )
    assert (ok.step.photo.name or "").startswith("repairs/")
    with pytest.raises(InvalidInput, match="not an image"):
        _step(
            member, assigned, "photo", 2, photo=SimpleUploadedFile("b.jpg", b"%PDF-1.4 not a photo")
        )
    settings.DISPATCH_PHOTO_MAX_BYTES = 100
    with pytest.raises(InvalidInput, match="at most"):
        _step(member, assigned, "photo", 3, photo=SimpleUploadedFile("c.png", _png(64)))


def test_a_burst_from_the_first_call_to_the_callback(
    people, crews, located_case, new_case, at, tmp_path
) -> None:
    """Two calls about one burst (merged into an incident), a job, a crew, the steps, supply
    restored: both cases resolved, their timelines say so, callbacks start, the agent's
    lookup shows the progress."""
    from qingquan.surveys.models import CallbackTask
    from qingquan.tickets import services as tickets

    at(sh(2026, 12, 3, 21, 0))
    import_small(tmp_path)
    incident = located_case("repair-burst")
    call = located_case("repair-burst", actor=people["agent2"])
    tickets.ticket_merge(actor=people["agent2"], ticket=call, version=call.version, parent=incident)
    job = services.job_create(actor=people["dispatcher"], ticket=incident)
    job = services.job_assign(
        actor=people["dispatcher"], job=job, crew=crews["haishu"], version=job.version
    )
    member = crews["member"]
    for n, kind in enumerate(["accept", "en_route"]):
        job = _step(member, job, kind, n).job
    at(sh(2026, 12, 3, 21, 40))
    job = _step(member, job, "arrive", 10).job
    call.refresh_from_db()
    progress = selectors.progress_for_case(user=people["agent2"], ticket=call)
    assert progress[0].job == job and progress[0].expected_restoration == sh(2026, 12, 4, 9, 0)
    for n, valve in enumerate(["VA", "VB", "VE"]):
        job = _step(member, job, "valve", 20 + n, valve=valve).job
    at(sh(2026, 12, 4, 1, 0))
    job = _step(member, job, "repaired", 30).job
    at(sh(2026, 12, 4, 2, 0))
    job = _step(member, job, "restored", 31).job
    assert job.state == "restored" and job.restored_at == sh(2026, 12, 4, 2, 0)
    for case in (incident, call):
        case.refresh_from_db()
        assert case.state == TicketState.RESOLVED
    assert TicketEvent.objects.filter(ticket=call, action="job_restored").exists()
    assert CallbackTask.objects.filter(ticket__in=[incident, call]).count() == 2
    assert Crew.objects.get(pk=crews["haishu"].pk).status == CrewStatus.AVAILABLE
    row = selectors.job_row(job)
    assert row.arrive.state == "met" and row.restore.state == "met"


def test_a_crew_step_leaves_the_kpi_rollups_alone(people, crews, assigned, at) -> None:
    # The step's timeline entry changes none of the case's fields: the rollups are not
    # recomputed for it (no reads of the case's contribution), and the KPIs stay equal
    # to a recomputation. The case's own arrival, which follows "arrived", is counted.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qingquan.reports import rollup

    member = crews["member"]
    job = _step(member, assigned, "accept", 1).job
    with CaptureQueriesContext(connection) as queries:
        job = _step(member, job, "note", 2, note="路面已开挖").job
    assert not [q for q in queries if "reports_ticketcontribution" in q["sql"]]
    assert TicketEvent.objects.filter(action="job_note", ticket=job.ticket).exists()
    job = _step(member, job, "en_route", 3).job
    with CaptureQueriesContext(connection) as queries:
        _step(member, job, "arrive", 4)
    assert [q for q in queries if "reports_ticketcontribution" in q["sql"]]
    assert rollup.consistency_check() == []
