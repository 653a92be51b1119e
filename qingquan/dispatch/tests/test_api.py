"""The dispatch API: 4xx answers with clear messages, the 409 with the job as it is now,
steps and the offline replay, photos; the case page shows the repair's progress."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

from qingquan.dispatch import services

pytestmark = pytest.mark.django_db

API = "/api/v1/dispatch"


def _client(user: Any) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def test_make_assign_and_a_conflict_answers_the_current_job(people, crews, located_case) -> None:
    case = located_case(lon=121.6, lat=29.9)
    d1, d2 = _client(people["dispatcher"]), _client(people["supervisor"])
    made = d1.post(f"{API}/jobs", {"case": case.number}, content_type="application/json")
    assert made.status_code == 201, made.content
    job = made.json()
    assert job["arrive"]["state"] == "ok" and job["version"] == 1 and job["next_step"] is None
    number = job["number"]
    ranked = d1.get(f"{API}/jobs/{number}/suggestions").json()
    assert ranked[0]["crew"]["code"] == "crew-jiangbei" and ranked[0]["reasons"]  # the nearer depot
    ok = d1.post(
        f"{API}/jobs/{number}/assign",
        {"crew": "crew-haishu", "version": 1},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["crews"] == [
        {"code": "crew-haishu", "name": "crew-haishu"}
    ]
    late = d2.post(
        f"{API}/jobs/{number}/assign",
        {"crew": "crew-jiangbei", "version": 1},
        content_type="application/json",
    )
    assert late.status_code == 409
    body = late.json()
    assert "changed by someone else" in body["detail"] and body["job"]["version"] == 2
    assert body["job"]["crews"][0]["code"] == "crew-haishu"


def test_refusals_are_4xx_with_a_message(people, crews, located_case, new_case) -> None:
    d = _client(people["dispatcher"])
    assert (
        d.post(
            f"{API}/jobs", {"case": "19990101-0001"}, content_type="application/json"
        ).status_code
        == 404
    )
    nowhere = new_case("repair-burst")
    r = d.post(f"{API}/jobs", {"case": nowhere.number}, content_type="application/json")
    assert r.status_code == 400 and "no location" in r.json()["detail"]
    assert d.get(f"{API}/jobs/NOPE").status_code == 404
    agent = _client(people["agent"])
    assert agent.get(f"{API}/jobs").status_code == 403
    assert (
        agent.post(
            f"{API}/jobs", {"case": nowhere.number}, content_type="application/json"
        ).status_code
        == 403
    )


def test_steps_replay_and_photo_over_the_api(
    people, crews, located_case, settings, tmp_path
) -> None:
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    job = services.job_create(actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9))
    services.job_assign(actor=people["dispatcher"], job=job, crew=crews["haishu"], version=1)
    crew = _client(crews["member"])
    wrong = crew.post(
        f"{API}/jobs/{job.number}/steps",
        {"id": "x1", "kind": "arrive"},
        content_type="application/json",
    )
    assert wrong.status_code == 409 and "not possible now" in wrong.json()["detail"]
    steps = [
        {"id": "r2", "kind": "en_route", "at": "2026-12-03T21:10:00+08:00", "offline": True},
        {"id": "r1", "kind": "accept", "at": "2026-12-03T21:05:00+08:00", "offline": True},
    ]
    replay = crew.post(
        f"{API}/jobs/{job.number}/steps/replay", {"steps": steps}, content_type="application/json"
    )
    assert replay.status_code == 200, replay.content
    assert [a["id"] for a in replay.json()["applied"]] == ["r1", "r2"]
    assert replay.json()["job"]["state"] == "en_route"
    again = crew.post(
        f"{API}/jobs/{job.number}/steps",
        {"id": "r1", "kind": "accept"},
        content_type="application/json",
    )
    assert again.json()["replayed"] is True
    picture = io.BytesIO()
    Image.new("RGB", (4, 4)).save(picture, "JPEG")
    picture.seek(0)
    picture.name = "p.jpg"
    photo = crew.post(
        f"{API}/jobs/{job.number}/photos", {"id": "p1", "phase": "before", "file": picture}
    )
    assert photo.status_code == 200, photo.content
    bad = io.BytesIO(b"not an image at all")
    bad.name = "x.jpg"
    refused = crew.post(f"{API}/jobs/{job.number}/photos", {"id": "p2", "file": bad})
    assert refused.status_code == 400 and "not an image" in refused.json()["detail"]
    # another crew's member sees nothing of it
    other = _client(crews["member2"])
    assert other.get(f"{API}/jobs/{job.number}").status_code == 404
    # the crew's position
    assert (
        crew.post(
            f"{API}/crews/crew-haishu/position",
            {"lon": 121.56, "lat": 29.88},
            content_type="application/json",
        ).status_code
        == 200
    )
    assert (
        other.post(
            f"{API}/crews/crew-haishu/position",
            {"lon": 121.56, "lat": 29.88},
            content_type="application/json",
        ).status_code
        == 403
    )


def test_the_case_page_shows_the_repair(people, crews, located_case) -> None:
    case = located_case(lon=121.6, lat=29.9)
    job = services.job_create(actor=people["dispatcher"], ticket=case)
    page = _client(people["agent"]).get(f"/cases/{case.number}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="repair-progress"' in text and job.number in text
    assert "expected-restoration" in text


def test_board_pages_render(people, crews, located_case) -> None:
    job = services.job_create(actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9))
    d = _client(people["dispatcher"])
    for url in (
        "/dispatch/",
        "/dispatch/list/",
        f"/dispatch/jobs/{job.number}/",
        f"{API}/board/geojson",
        f"{API}/crews",
    ):
        assert d.get(url).status_code == 200, url
    assert _client(crews["member"]).get("/dispatch/crew/jobs/").status_code == 200
    assert _client(people["agent"]).get("/dispatch/").status_code == 403


def test_a_case_is_referred_beyond_duty(people, located_case) -> None:
    from qingquan.dispatch.models import Referral, ReferralPartner
    from qingquan.tickets.models import TicketEvent

    partner = ReferralPartner.objects.create(name="甬城测漏", service="私有管道测漏")
    case = located_case("repair-leak")
    owner = _client(people["agent"])
    assert owner.get(f"{API}/referral-partners").json()[0]["name"] == "甬城测漏"
    made = owner.post(
        f"{API}/referrals",
        {"case": case.number, "partner": partner.pk, "note": "用水量异常"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert Referral.objects.get().ticket_id == case.pk
    event = TicketEvent.objects.get(ticket=case, action="referral")
    assert "甬城测漏" in event.note and event.visibility == "customer"
    stranger = _client(people["agent2"])
    refused = stranger.post(
        f"{API}/referrals",
        {"case": case.number, "partner": partner.pk},
        content_type="application/json",
    )
    assert refused.status_code in (403, 404)


def test_a_crew_step_answers_with_every_crew_and_compiles_no_dispatch_query(
    people, crews, located_case, monkeypatch
) -> None:
    """A crew's step reads the job under its lock and answers with the job's clocks and
    crews through precompiled statements (`core.db.fastselect`), as it finds the member's
    crew on the job: the ORM compiles none of its dispatch queries per request (the job's
    look-up, its lock and the answer's crews were compiled at every step, and compiling
    them cost more than the step's writes)."""
    from qingquan.core.tests.compiled import compiled_selects

    job = services.job_create(actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9))
    job = services.job_assign(actor=people["dispatcher"], job=job, crew=crews["haishu"], version=1)
    services.job_assign(
        actor=people["dispatcher"], job=job, crew=crews["jiangbei"], version=job.version, add=True
    )
    crew = _client(crews["member"])
    crew.post(f"{API}/jobs/{job.number}/steps", {"id": "w1", "kind": "note", "note": "热身"},
              content_type="application/json")  # fmt: skip
    compiled = compiled_selects(monkeypatch)
    answer = crew.post(
        f"{API}/jobs/{job.number}/steps",
        {"id": "n1", "kind": "note", "note": "路面已开挖"},
        content_type="application/json",
    )

    assert answer.status_code == 200, answer.content
    body = answer.json()["job"]
    assert body["case"] == job.ticket.number and body["number"] == job.number
    codes = {c["code"]: c["name"] for c in body["crews"]}
    assert set(codes) == {crews["haishu"].team.code, crews["jiangbei"].team.code}
    assert codes[crews["jiangbei"].team.code] == crews["jiangbei"].team.name
    assert body["district"] == (job.district.name if job.district else None)
    assert [label for label in compiled if label.startswith("dispatch.")] == []


def test_a_step_on_a_job_the_members_crew_is_not_on_is_refused(people, crews, located_case) -> None:
    job = services.job_create(actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9))
    services.job_assign(actor=people["dispatcher"], job=job, crew=crews["haishu"], version=1)
    other = _client(crews["member2"])

    refused = other.post(
        f"{API}/jobs/{job.number}/steps", {"id": "o1", "kind": "accept"},
        content_type="application/json",
    )  # fmt: skip
    unknown = other.post(
        f"{API}/jobs/NO-SUCH-JOB/steps", {"id": "o2", "kind": "accept"},
        content_type="application/json",
    )  # fmt: skip

    assert refused.status_code == 404 and unknown.status_code == 404
    assert not job.steps.exists()
