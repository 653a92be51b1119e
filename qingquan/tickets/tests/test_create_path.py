"""Creating a case: few round trips, the same rows and side effects, fresh reference data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qingquan.core.models import AuditEvent
from qingquan.reports import rollup
from qingquan.reports.models import ContactDaily, KpiDaily
from qingquan.tickets import reference, services
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import KindsVersion, SlaPolicy, Ticket

from .conftest import sh

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "kind": "consultation",
    "channel": "phone",
    "subject": "水压小",
    "caller_phone": "13800138000",
}


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(user)
    return client


def create(client: Client, **extra: Any) -> Any:
    body = json.dumps({**PAYLOAD, **extra})
    return client.post("/api/v1/tickets/", body, content_type="application/json")


def test_api_create_takes_few_queries_and_answers_what_get_reads(
    at: Any, people: Any, django_assert_max_num_queries: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    client = client_for(people["agent"])
    assert create(client).status_code == 201  # warms the kinds cache
    # Session, user, contact (+ its day's count and audit row), number and kinds token,
    # case, contact link, timeline entry, KPI count, stored contribution, audit row, and
    # the test's savepoint: no kind lookup, no re-read of the case, no pause queries.
    with django_assert_max_num_queries(14):
        response = create(client)
    assert response.status_code == 201
    created = response.json()
    fetched = client.get(f"/api/v1/tickets/{created['number']}").json()
    assert {k: fetched[k] for k in created} == created
    assert created["allowed_actions"] == fetched["allowed_actions"]
    assert "pause" in created["allowed_actions"]


def test_create_writes_history_audit_rollups_and_timers(
    at: Any, people: Any, new_case: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("repair-burst")
    case = Ticket.objects.get(pk=case.pk)
    assert list(case.events.values_list("action", flat=True)) == ["create"]
    assert AuditEvent.objects.filter(action="ticket.create", object_id=str(case.pk)).exists()
    assert case.contacts.count() == 1
    assert case.arrival_due == case.arrival_deadline is not None
    assert case.restoration_due == case.restoration_deadline is not None
    rollup.fold()  # PostgreSQL: the counts wait as deltas until folded (decision 0009)
    assert KpiDaily.objects.get().created == 1 and ContactDaily.objects.get().contacts == 1
    new_case("complaint")
    rollup.fold()
    assert KpiDaily.objects.filter(kind="complaint").get().created == 1
    assert ContactDaily.objects.get().contacts == 2
    assert rollup.consistency_check() == []


def test_complaint_gets_a_response_deadline_on_its_clock(at: Any, new_case: Any) -> None:
    at(sh(2026, 3, 2, 9))  # a Monday; complaints: 4 h response on working days
    case = new_case("complaint")
    assert case.response_deadline == sh(2026, 3, 2, 13) == case.response_due


def test_a_policy_changed_elsewhere_is_seen_at_the_next_creation(
    at: Any, new_case: Any, kind: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    assert new_case("consultation").sla_resolution_seconds == 86400
    # Another process edits the policy: this process's cache is stale, only the token
    # in the database has changed (an UPDATE does not reach this process's receivers).
    SlaPolicy.objects.filter(code="consult-1wd").update(resolution_seconds=2 * 86400)
    cached = reference.catalogue().by_code["consultation"].policy
    assert cached is not None and cached.resolution_seconds == 86400
    KindsVersion.objects.filter(pk=1).update(token="changed-elsewhere")
    assert new_case("consultation").sla_resolution_seconds == 2 * 86400


def test_an_edit_in_this_process_renews_the_token(new_case: Any) -> None:
    before = reference.current_token()
    policy = SlaPolicy.objects.get(code="consult-1wd")
    policy.resolution_seconds = 3 * 86400
    policy.save()
    assert reference.current_token() != before
    assert new_case("consultation").sla_resolution_seconds == 3 * 86400


def test_a_kind_retired_elsewhere_is_refused(new_case: Any, kind: Any, people: Any) -> None:
    consultation = kind("consultation")
    new_case("consultation")
    type(consultation).objects.filter(pk=consultation.pk).update(is_active=False)
    KindsVersion.objects.filter(pk=1).update(token="retired-elsewhere")
    with pytest.raises(InvalidInput):
        services.ticket_create(
            actor=people["agent"], kind=consultation, channel="phone", subject="x"
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_a_failed_creation_writes_nothing_and_numbers_stay_unique(
    at: Any, new_case: Any, kind: Any, people: Any
) -> None:
    from django.db import connection

    from qingquan.tickets.models import Contact

    at(sh(2026, 3, 2, 9))
    consultation = kind("consultation")
    assert new_case("consultation").number == "20260302-0001"
    type(consultation).objects.filter(pk=consultation.pk).update(is_active=False)
    KindsVersion.objects.filter(pk=1).update(token="retired-for-a-moment")
    with pytest.raises(InvalidInput):
        services.ticket_create(
            actor=people["agent"], kind=consultation, channel="phone", subject="x"
        )
    assert Ticket.objects.count() == 1
    assert Contact.objects.count() == 1  # the failed case's contact was rolled back
    assert AuditEvent.objects.filter(action="contact.record").count() == 1
    type(consultation).objects.filter(pk=consultation.pk).update(is_active=True)
    KindsVersion.objects.filter(pk=1).update(token="back-in-use")
    # PostgreSQL takes the number in a statement of its own (the counter row is not held
    # for the whole creation), so the failed attempt used one up; SQLite has no gap.
    gap = 1 if connection.vendor == "postgresql" else 0
    assert new_case("consultation").number == f"20260302-{2 + gap:04d}"
